"""A GGUF model of the same shape as ours, with random weights: for speed figures where the
real weights cannot be copied (a GPU machine reached through a 64 MiB channel, say).

Generation speed depends on the architecture, the sizes and the quantization types, never on
the values of the weights, so a model with the chat model's metadata (architecture, sizes,
tokenizer, chat template) and random weights, quantized with llama.cpp's own ``llama-quantize``
to the same type, is as fast as the real one. Its answers are nonsense: use it for
tokens per second and time to first token with a fixed number of generated tokens
(``ignore_eos``), never for quality.

Two steps, on two machines::

    # here: describe the real model (metadata and tensor shapes, no weights; ~3 MB)
    .venv/bin/python bench/same_shape_gguf.py describe data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf spec.json.gz
    # there: write a float16 GGUF with random weights, then quantize it like the original
    python3 bench/same_shape_gguf.py write spec.json.gz random-f16.gguf
    llama-quantize random-f16.gguf random-q4_k_m.gguf Q4_K_M

Both steps need llama.cpp's ``gguf`` Python package: from the ``gguf-py`` folder of the
llama.cpp sources (``--gguf-py``, vendored in the llama-cpp-python sdist) or installed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np


def import_gguf(path: str | None):
    if path:
        sys.path.insert(0, path)
    import gguf  # noqa: PLC0415 (found only once the path is known)

    return gguf


def describe(gguf, model: Path, spec: Path) -> None:
    reader = gguf.GGUFReader(model)
    fields = []
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue  # written by the writer itself
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        fields.append({"name": name, "type": int(kind), "sub": int(sub) if sub is not None else None, "value": value})
    tensors = [
        {"name": t.name, "shape": [int(n) for n in t.shape], "float": t.tensor_type in (gguf.GGMLQuantizationType.F32,)}
        for t in reader.tensors
    ]
    with gzip.open(spec, "wt", encoding="utf-8") as out:
        json.dump({"source": model.name, "fields": fields, "tensors": tensors}, out)
    print(f"{spec}: {len(fields)} metadata fields, {len(tensors)} tensors, "
          f"{sum(int(np.prod(t['shape'])) for t in tensors) / 1e9:.2f} billion weights")


def write(gguf, spec: Path, out: Path, seed: int, layers: int | None = None) -> None:
    data = json.load(gzip.open(spec, "rt", encoding="utf-8"))
    fields = {f["name"]: f for f in data["fields"]}
    arch = fields.pop("general.architecture")["value"]
    if layers is not None:  # a smaller model of the same kind, to try the steps quickly
        fields[f"{arch}.block_count"]["value"] = layers
        data["tensors"] = [t for t in data["tensors"]
                           if not t["name"].startswith("blk.") or int(t["name"].split(".")[1]) < layers]
    writer = gguf.GGUFWriter(out, arch)
    for field in fields.values():
        if field["name"] == "general.file_type":
            field = {**field, "value": int(gguf.LlamaFileType.MOSTLY_F16)}
        kind = gguf.GGUFValueType(field["type"])
        sub = gguf.GGUFValueType(field["sub"]) if field["sub"] is not None else None
        writer.add_key_value(field["name"], field["value"], kind, sub_type=sub)
    # One block of random numbers, reused: the values do not matter, drawing 1.5 billion would.
    rng = np.random.default_rng(seed)
    pool = (rng.standard_normal(1 << 24, dtype=np.float32) * 0.02).astype(np.float16)
    for tensor in data["tensors"]:
        shape = tuple(reversed(tensor["shape"]))  # GGUF lists the fastest dimension first
        count = int(np.prod(shape))
        values = np.resize(pool, count).reshape(shape)
        if tensor["float"]:  # norms and biases stay float32, as in the original
            values = values.astype(np.float32)
            if tensor["name"].endswith("norm.weight"):
                values = np.ones(shape, dtype=np.float32)
        writer.add_tensor(tensor["name"], values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"{out}: {out.stat().st_size / 1e9:.2f} GB, random weights shaped like {data['source']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gguf-py", help="llama.cpp's gguf-py folder, if the gguf package is not installed")
    parser.add_argument("--seed", type=int, default=0)
    sub = parser.add_subparsers(dest="step", required=True)
    d = sub.add_parser("describe", help="metadata and tensor shapes of a GGUF model, without its weights")
    d.add_argument("model", type=Path)
    d.add_argument("spec", type=Path)
    w = sub.add_parser("write", help="a float16 GGUF with random weights from a description")
    w.add_argument("spec", type=Path)
    w.add_argument("out", type=Path)
    w.add_argument("--layers", type=int, help="keep only the first N blocks (a quick trial)")
    args = parser.parse_args()
    gguf = import_gguf(args.gguf_py)
    if args.step == "describe":
        describe(gguf, args.model, args.spec)
    else:
        write(gguf, args.spec, args.out, args.seed, args.layers)


if __name__ == "__main__":
    main()
