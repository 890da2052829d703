"""Building the agents under test: a fresh ToolCallingAgent or CodeAgent per task execution (so no
memory leaks from one task into the next), configured as SMOLTRACE's ``--prompt-yml`` says.

SMOLTRACE's prompt config is a YAML mapping of agent settings, not a prompt-templates file:
``system_prompt``, ``max_steps``, ``name``, ``description``, ``verbosity_level`` for both agents, and
for code agents only ``prompt_templates``, ``additional_authorized_imports``, ``grammar``,
``planning_interval``. smolagents 1.2x has no ``system_prompt`` argument any more, so the text
replaces the ``system_prompt`` template (a Jinja template, like smolagents' own); ``prompt_templates``
given in part are completed from smolagents' defaults. Unknown keys and wrong types are refused with
the key's name, where SMOLTRACE would ignore or crash on them.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

AGENT_TYPES = ("tool", "code")
COMMON_KEYS = ("system_prompt", "max_steps", "name", "description", "verbosity_level")
CODE_AGENT_KEYS = ("prompt_templates", "additional_authorized_imports", "grammar", "planning_interval")


class AgentConfigError(ValueError):
    pass


@dataclass(frozen=True)
class AgentOptions:
    """The agent settings of a run: ``--prompt-yml`` and ``--additional-imports`` together."""

    system_prompt: str | None = None
    max_steps: int | None = None
    name: str | None = None
    description: str | None = None
    verbosity_level: int | None = None
    # code agents only, as in SMOLTRACE
    prompt_templates: dict | None = None
    additional_authorized_imports: tuple[str, ...] = ()
    planning_interval: int | None = None


def load_prompt_config(path: str | Path | None) -> dict | None:
    """``--prompt-yml``: the YAML mapping, or None when no file is given."""
    if path is None:
        return None
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgentConfigError(f"--prompt-yml: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentConfigError(f"--prompt-yml: cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise AgentConfigError(f"--prompt-yml: {path} is not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise AgentConfigError(f"--prompt-yml: {path} must be a mapping of settings (system_prompt, max_steps, ...)")
    return document


def agent_options(
    prompt_config: dict | None, additional_imports: Sequence[str] = (), source: str = "prompt_config"
) -> AgentOptions:
    """Check ``prompt_config`` (keys, types) and merge ``additional_imports`` into the code agent's."""
    config = dict(prompt_config or {})
    unknown = sorted(set(config) - set(COMMON_KEYS) - set(CODE_AGENT_KEYS))
    if unknown:
        raise AgentConfigError(
            f"{source}: unknown setting {', '.join(map(repr, unknown))}; the settings are "
            f"{', '.join(COMMON_KEYS + CODE_AGENT_KEYS)}"
        )
    if "grammar" in config:
        from importlib.metadata import version

        raise AgentConfigError(
            f"{source}: 'grammar' is not an option of smolagents {version('smolagents')} "
            "agents (smolagents removed structured-generation grammars); remove it"
        )

    def check(key, kind, test=lambda value: True, wanted=""):
        value = config.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool) or not test(value)):
            raise AgentConfigError(f"{source}: '{key}' must be {wanted} (got {value!r})")
        return value

    name = check("name", str, lambda v: v.isidentifier() and not keyword.iskeyword(v), "a Python identifier")
    templates = check("prompt_templates", dict, wanted="a mapping of smolagents prompt templates")
    imports = config.get("additional_authorized_imports") or []
    if not isinstance(imports, list) or not all(isinstance(item, str) and item.strip() for item in imports):
        raise AgentConfigError(
            f"{source}: 'additional_authorized_imports' must be a list of module names (got {imports!r})"
        )
    return AgentOptions(
        system_prompt=check("system_prompt", str, wanted="text"),
        max_steps=check("max_steps", int, lambda v: v >= 1, "a whole number of 1 or more"),
        name=name,
        description=check("description", str, wanted="text"),
        verbosity_level=check("verbosity_level", int, lambda v: -1 <= v <= 2, "-1 (off), 0, 1 or 2"),
        prompt_templates=_check_templates(templates, source) if templates is not None else None,
        additional_authorized_imports=tuple(dict.fromkeys([*imports, *additional_imports])),
        planning_interval=check("planning_interval", int, lambda v: v >= 1, "a whole number of 1 or more"),
    )


def _check_templates(templates: dict, source: str) -> dict:
    from smolagents.agents import EMPTY_PROMPT_TEMPLATES

    unknown = sorted(set(templates) - set(EMPTY_PROMPT_TEMPLATES))
    if unknown:
        raise AgentConfigError(
            f"{source}: unknown prompt template {', '.join(map(repr, unknown))}; smolagents' "
            f"templates are {', '.join(EMPTY_PROMPT_TEMPLATES)}"
        )
    for key, value in templates.items():
        parts = EMPTY_PROMPT_TEMPLATES[key]
        if isinstance(parts, dict):
            if (
                not isinstance(value, dict)
                or set(value) - set(parts)
                or not all(isinstance(v, str) for v in value.values())
            ):
                raise AgentConfigError(
                    f"{source}: prompt template '{key}' must map {', '.join(parts)} to text (got {value!r})"
                )
        elif not isinstance(value, str):
            raise AgentConfigError(f"{source}: prompt template '{key}' must be text (got {value!r})")
    return templates


def default_prompt_templates(agent_type: str) -> dict:
    """smolagents' own templates for the agent type (the ones it uses when given none)."""
    import importlib.resources

    import yaml

    name = "toolcalling_agent.yaml" if agent_type == "tool" else "code_agent.yaml"
    return yaml.safe_load(importlib.resources.files("smolagents.prompts").joinpath(name).read_text(encoding="utf-8"))


def prompt_templates_for(agent_type: str, options: AgentOptions) -> dict | None:
    """The templates to give the agent, or None for smolagents' defaults unchanged. ``system_prompt``
    wins over ``prompt_templates['system_prompt']``."""
    custom = options.prompt_templates if agent_type == "code" else None
    if custom is None and options.system_prompt is None:
        return None
    templates = default_prompt_templates(agent_type)
    for key, value in (custom or {}).items():
        templates[key] = {**templates[key], **value} if isinstance(value, dict) else value
    if options.system_prompt is not None:
        templates["system_prompt"] = options.system_prompt
    return templates


def names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A list of names from the Python API, where one name given as a string is one name, not its letters."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def build_agent(
    agent_type: str, model, tools: list, *, max_steps: int, options: AgentOptions | None = None, verbose: bool = False
):
    from smolagents import CodeAgent, ToolCallingAgent
    from smolagents.monitoring import LogLevel

    if agent_type not in AGENT_TYPES:
        raise AgentConfigError(f"unknown agent type {agent_type!r}; choose tool, code or both")
    options = options or AgentOptions()
    level = (
        LogLevel.INFO
        if verbose
        else LogLevel(options.verbosity_level)
        if options.verbosity_level is not None
        else LogLevel.OFF
    )
    kwargs = {
        "tools": tools,
        "model": model,
        "max_steps": max_steps,
        "verbosity_level": level,
        "name": options.name,
        "description": options.description,
        "prompt_templates": prompt_templates_for(agent_type, options),
    }
    if agent_type == "tool":
        return ToolCallingAgent(**kwargs)
    return CodeAgent(
        **kwargs,
        planning_interval=options.planning_interval,
        additional_authorized_imports=list(options.additional_authorized_imports),
    )


@dataclass
class AgentSetup:
    """What every agent of a run is built from, checked (and its tools built once) before the run starts:
    ``--prompt-yml``/``prompt_config``, ``--additional-imports``, the suite's tools and ``--enable-tools``
    (and the ``--mcp-server-url`` values, whose tools are added when the run starts)."""

    options: AgentOptions = field(default_factory=AgentOptions)
    enable_tools: tuple[str, ...] = ()
    search_provider: str = "duckduckgo"
    search_url: str | None = None
    working_directory: Path | None = None
    tools_factory: Callable[[], list] | None = None
    tool_names: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config) -> AgentSetup:
        """``config``: an ``EvalConfig``. Raises ``AgentConfigError`` / ``ToolConfigError`` with the flag's name."""
        from smoltrace.runner.mcp import check_servers
        from smoltrace.runner.optional_tools import check_working_directory

        check_servers(config.mcp_server_url, config.mcp_transport)
        if config.prompt_yml is not None and config.prompt_config is not None:
            raise AgentConfigError("give --prompt-yml (a file) or prompt_config (a dict), not both")
        if config.prompt_config is not None:
            prompt_config, source = config.prompt_config, "prompt_config"
        else:
            prompt_config, source = load_prompt_config(config.prompt_yml), f"--prompt-yml {config.prompt_yml}"
        setup = cls(
            options=agent_options(prompt_config, names(config.additional_imports), source),
            enable_tools=names(config.enable_tools),
            search_provider=config.search_provider,
            search_url=config.search_url,
            working_directory=check_working_directory(config.working_directory),
            tools_factory=config.tools_factory,
        )
        setup.tool_names = tuple(tool.name for tool in setup.tools())
        return setup

    def tools(self) -> list:
        """Fresh tool instances for one agent: the suite's (or ``tools_factory``'s), then the enabled ones."""
        from smoltrace.runner.optional_tools import ToolConfigError, optional_tools
        from smoltrace.runner.tools import default_tools

        tools = self.tools_factory() if self.tools_factory else default_tools()
        tools += optional_tools(
            self.enable_tools,
            search_provider=self.search_provider,
            search_url=self.search_url,
            working_directory=self.working_directory,
            additional_imports=self.options.additional_authorized_imports,
        )
        names = [tool.name for tool in tools]
        clashes = sorted({name for name in names if names.count(name) > 1})
        if clashes:
            raise ToolConfigError(
                f"--enable-tools: two tools are named {clashes[0]!r}; enable only one of them "
                "(google_search and duckduckgo_search are both web_search)"
            )
        return tools
