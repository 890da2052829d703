"""Model providers: turn (provider, model id, options) into a smolagents Model, and say clearly what is
missing (an API key, the local extras) before any task runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from smoltrace.runner.local_model import BUNDLED_MODEL_ID, BUNDLED_PUBLIC_ID, prepare_bundled_model

PROVIDERS = ("litellm", "transformers", "ollama", "inference", "openai")
LOCAL_PROVIDERS = frozenset({"transformers", "ollama"})
OLLAMA_DEFAULT_API_BASE = "http://localhost:11434"
TRANSFORMERS_DEFAULT_MAX_NEW_TOKENS = 256
_MOCK_ARGS = ("mock_response", "mock_tool_calls")


class ModelConfigError(ValueError):
    """The model cannot be used as configured; the message says what to set or install."""


@dataclass
class ModelSpec:
    provider: str
    model_id: str
    api_base: str | None = None
    api_key: str | None = None
    hf_token: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    inference_provider: str | None = None  # --hf-inference-provider, for --provider inference

    @property
    def is_local(self) -> bool:
        return self.provider in LOCAL_PROVIDERS

    @property
    def litellm_model_id(self) -> str:
        if self.provider == "ollama" and not self.model_id.startswith(("ollama/", "ollama_chat/")):
            return f"ollama_chat/{self.model_id}"
        return self.model_id


def check_model(spec: ModelSpec) -> None:
    """Fail fast, before the collector starts or a task runs."""
    if spec.provider not in PROVIDERS:
        raise ModelConfigError(f"unknown provider {spec.provider!r}; choose one of {', '.join(PROVIDERS)}")
    if spec.provider == "litellm" and not spec.api_base and not any(k in spec.model_args for k in _MOCK_ARGS):
        import litellm

        try:
            missing = litellm.validate_environment(model=spec.model_id).get("missing_keys") or []
        except Exception:  # noqa: BLE001 - an unknown model name: litellm itself will say so at the first call
            missing = []
        if missing and not spec.api_key:
            raise ModelConfigError(
                f"{spec.model_id} needs {', '.join(missing)} in the environment (or in a .env file). "
                "For a local model use --provider transformers (e.g. --model smollm2-135m) or --provider ollama."
            )
    if spec.provider == "openai" and not spec.api_base:
        raise ModelConfigError("--provider openai needs --api-base, the URL of an OpenAI-compatible server")
    if spec.provider == "inference" and not (spec.hf_token or os.environ.get("HF_TOKEN")):
        raise ModelConfigError("--provider inference needs a Hugging Face token: --hf-token or HF_TOKEN")
    if spec.inference_provider is not None and spec.provider != "inference":
        raise ModelConfigError(f"--hf-inference-provider is for --provider inference (got --provider {spec.provider})")


def model_pricing(spec: ModelSpec) -> tuple[float, float] | None:
    """(USD per input token, USD per output token), from litellm's bundled price map.

    Local models cost nothing per token (their energy cost is measured separately); unknown models
    give None, so cost columns stay empty rather than claiming zero.
    """
    if spec.is_local:
        return (0.0, 0.0)
    try:
        import litellm

        entry = litellm.model_cost.get(spec.model_id) or litellm.model_cost.get(spec.model_id.split("/", 1)[-1])
    except Exception:  # noqa: BLE001 - no price known: cost stays empty
        return None
    if not entry or "input_cost_per_token" not in entry:
        return None
    return float(entry["input_cost_per_token"]), float(entry.get("output_cost_per_token", 0.0))


def build_model(spec: ModelSpec, log=print):
    """A smolagents Model for ``spec``; ``model_args`` reach the model's generation call."""
    args = dict(spec.model_args)
    if spec.provider in ("litellm", "ollama"):
        from smolagents import LiteLLMModel

        api_base = spec.api_base or (OLLAMA_DEFAULT_API_BASE if spec.provider == "ollama" else None)
        return LiteLLMModel(model_id=spec.litellm_model_id, api_base=api_base, api_key=spec.api_key, **args)
    if spec.provider == "openai":
        from smolagents import OpenAIServerModel

        return OpenAIServerModel(
            model_id=spec.model_id,
            api_base=spec.api_base,
            api_key=spec.api_key or os.environ.get("OPENAI_API_KEY", "not-needed"),
            **args,
        )
    if spec.provider == "inference":
        from smolagents import InferenceClientModel

        return InferenceClientModel(
            model_id=spec.model_id,
            provider=spec.inference_provider,
            token=spec.hf_token or os.environ.get("HF_TOKEN"),
            **args,
        )
    # transformers
    try:
        import torch  # noqa: F401
        from smolagents import TransformersModel
    except ImportError:
        raise ModelConfigError("--provider transformers needs `pip install 'smoltrace[local]'`") from None
    bundled = spec.model_id == BUNDLED_MODEL_ID
    model_id = str(prepare_bundled_model(log)) if bundled else spec.model_id
    args.setdefault("max_new_tokens", TRANSFORMERS_DEFAULT_MAX_NEW_TOKENS)
    args.setdefault("torch_dtype", "float32")  # bf16 is ~5x slower at prefill on AVX2-only CPUs
    args.setdefault("device_map", None if not _has_cuda() else "auto")
    model = TransformersModel(model_id=model_id, **args)
    if bundled:
        # loaded from the cache folder, named by its public id: spans record `llm.model_name` from this
        model.model_id = BUNDLED_PUBLIC_ID
    return model


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False
