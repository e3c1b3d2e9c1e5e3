"""The llama.cpp engine (xllamacpp) behind the embedded model server, usable in-process too."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from fleet.config import LlamaCppModel
from fleet.errors import ConfigError, UserError
from serve_apps.llm.weights import model_weights


class BadRequest(UserError):
    """The request body is not a chat completion request this engine can serve."""

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"bad request: {reason}", reason=reason)


class ModelNotServed(BadRequest):
    """The request names another model: answering with this one would hide a misroute."""

    def __init__(self, *, asked: str, served: str | tuple[str, ...]) -> None:
        names = (served,) if isinstance(served, str) else served
        UserError.__init__(
            self,
            f"model {asked!r} is not served here; this app serves {', '.join(map(repr, names))}",
            reason="model not served",
            asked=asked,
            served=", ".join(names),
        )


def _normal_priority() -> None:
    """Run the engine's threads at nice 0 (they inherit it from the thread that creates them).

    Ray starts workers at nice 15 so its own daemons stay responsive; for the model
    engine, which holds reserved CPUs, that made generation 2-3x slower than in-process
    whenever anything else ran. Needs root or CAP_SYS_NICE; otherwise left as is.
    """
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)  # Linux: this thread only
    except (PermissionError, OSError):
        pass


_NGRAM = {"ngram_simple", "ngram_map_k", "ngram_map_k4v"}


def configure_speculation(
    params: Any, spec: LlamaCppModel, *, draft_path: Path | None, xllamacpp: Any
) -> None:
    """Set ``params.speculative`` from ``spec.speculative`` (left off when that is None).

    In xllamacpp 2026.10.11549 the n-gram methods have their own draft length (``size_m``),
    the draft model its own (``draft.n_max``): ``n_max`` goes to whichever the method reads.
    """
    sd = spec.speculative
    if sd is None:
        return
    kind = xllamacpp.common_speculative_type
    speculative = params.speculative
    if sd.method == "draft":
        if draft_path is None:
            raise ConfigError(
                file="models.yaml",
                key="speculative.draft_model",
                problem="method draft needs its draft model's weights",
            )
        speculative.types = [kind.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
        draft = speculative.draft
        draft.mparams.path = str(draft_path)
        draft.n_max, draft.n_min, draft.p_min = sd.n_max, sd.n_min, sd.p_min
        # the draft shares the target's cores: same thread count, same polling policy
        draft.cpuparams.n_threads = draft.cpuparams_batch.n_threads = spec.n_threads
        draft.cpuparams.poll = draft.cpuparams_batch.poll = params.cpuparams.poll
    elif sd.method in _NGRAM:
        speculative.types = [getattr(kind, f"COMMON_SPECULATIVE_TYPE_{sd.method.upper()}")]
        table = getattr(speculative, sd.method)
        table.size_n, table.size_m, table.min_hits = sd.ngram_size, sd.n_max, sd.min_hits
    else:  # ngram_mod
        speculative.types = [kind.COMMON_SPECULATIVE_TYPE_NGRAM_MOD]
        mod = speculative.ngram_mod
        mod.n_match, mod.n_max, mod.n_min = sd.ngram_size, sd.n_max, sd.n_min


def omp_wait_policy(spec: LlamaCppModel) -> str:
    """``OMP_WAIT_POLICY`` for the engine's process: ``ACTIVE`` only with ``spin_wait``."""
    return "ACTIVE" if spec.spin_wait else "PASSIVE"


class LlamaCppEngine:
    """Hosts one GGUF model in ``xllamacpp.Server`` with ``n_parallel`` continuous-batching slots.

    ``chat`` takes and returns OpenAI chat-completion dicts; it is thread-safe and
    releases the GIL while generating, so concurrent callers share the batch.
    """

    def __init__(
        self, spec: LlamaCppModel, *, served_name: str, draft: LlamaCppModel | None = None
    ) -> None:
        # OpenMP reads this when the runtime loads (with xllamacpp, below): spinning worker
        # threads made generation ~25x slower on 2 shared cores (0.2 vs 5.8 tok/s, measured).
        os.environ.setdefault("OMP_WAIT_POLICY", omp_wait_policy(spec))
        import xllamacpp  # heavy native module: imported where the engine actually runs

        self.spec = spec
        self.served_name = served_name
        self.path = model_weights(spec, name=served_name)  # refuses unpinned bytes
        sd = spec.speculative
        draft_path = None
        if sd is not None and sd.draft_model is not None and draft is not None:
            draft_path = model_weights(draft, name=sd.draft_model)  # pinned like the target
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.n_ctx = spec.n_ctx
        params.n_parallel = spec.n_parallel
        # One KV cache shared by all slots: any request may use the whole n_ctx, and slots
        # that are idle cost nothing (the llama.cpp server enables this itself; the API does not).
        params.kv_unified = True
        # Council members share long prefixes (story, code context): keep each slot's KV cache
        # for reuse, send a request to the slot already holding most of its prompt, and keep
        # evicted prompts in a host-RAM cache a later request can restore.
        params.cache_prompt = spec.cache_prompt
        params.slot_prompt_similarity = spec.slot_prompt_similarity
        params.cache_ram_mib = spec.cache_ram_mib
        params.n_cache_reuse = spec.n_cache_reuse
        params.cont_batching = True
        params.cpuparams.n_threads = spec.n_threads
        params.cpuparams_batch.n_threads = spec.n_threads
        poll = 50 if spec.spin_wait else 0  # llama.cpp's own threadpool (non-OpenMP builds)
        params.cpuparams.poll = params.cpuparams_batch.poll = poll
        configure_speculation(params, spec, draft_path=draft_path, xllamacpp=xllamacpp)
        # Prometheus text of the engine's own counters (tokens, drafts accepted), see metrics()
        params.endpoint_metrics = True
        params.verbosity = -1
        # xllamacpp also opens its own HTTP listener; keep it on loopback, ephemeral port.
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        self.created = int(time.time())
        _normal_priority()
        self._server = xllamacpp.Server(params)

    def models(self) -> dict[str, Any]:
        """OpenAI ``GET /v1/models`` body."""
        card = {
            "id": self.served_name,
            "object": "model",
            "created": self.created,
            "owned_by": "fleet",
        }
        return {"object": "list", "data": [card]}

    def metrics(self) -> str:
        """The engine's Prometheus text (``llamacpp:*``: tokens, slots, speculative drafts)."""
        return str(self._server.handle_metrics())

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """OpenAI chat completion (non-streaming); honours response_format, temperature, seed, max_tokens.

        Raises:
            ModelNotServed: the body names a model other than this one.
            BadRequest: malformed body, streaming asked for, or the engine rejected it.
        """
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("messages"), list)
            or not body["messages"]
        ):
            raise BadRequest(reason="'messages' must be a non-empty array")
        asked = body.get("model")
        if asked and asked != self.served_name:
            raise ModelNotServed(asked=str(asked), served=self.served_name)
        if body.get("stream"):
            raise BadRequest(reason="streaming is not supported by this server; omit 'stream'")
        request = {k: v for k, v in body.items() if k != "model"}
        cap = self.spec.max_completion_tokens
        if cap is not None:
            asked_tokens = request.get("max_tokens")
            if not isinstance(asked_tokens, int) or not 0 < asked_tokens <= cap:
                request["max_tokens"] = cap
        try:
            result = self._server.handle_chat_completions(request)
        except (ValueError, TypeError) as exc:
            raise BadRequest(reason=str(exc)) from None
        if isinstance(result, dict) and "error" in result:
            error = result["error"]
            raise BadRequest(
                reason=str(error.get("message", error) if isinstance(error, dict) else error)
            )
        result["model"] = self.served_name
        return result
