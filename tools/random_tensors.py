#!/usr/bin/env python3
"""Random weights (.safetensors) and inputs (.npy) for cost benchmarks.

Standard library only, so it runs on a fresh machine without pip:

    python3 tools/random_tensors.py weights OUT.safetensors SEED NAME=D0xD1x... ...
    python3 tools/random_tensors.py npy OUT.npy SEED D0xD1x...

Weights are float32, uniform in [-0.5, 0.5); inputs float32 in [0, 1). The
circuit's cost does not depend on the values, only on the network's shape.
"""

import json
import random
import struct
import sys


def shape_of(text):
    return [int(d) for d in text.split("x")]


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def floats(rng, n, lo, hi):
    return struct.pack(f"<{n}f", *(rng.uniform(lo, hi) for _ in range(n)))


def weights(out, seed, specs):
    rng = random.Random(seed)
    header, blobs, offset = {}, [], 0
    for spec in specs:
        name, dims = spec.split("=", 1)
        shape = shape_of(dims)
        blob = floats(rng, count(shape), -0.5, 0.5)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def npy(out, seed, dims):
    rng = random.Random(seed)
    shape = shape_of(dims)
    desc = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join(f"{d}, " for d in shape) if len(shape) == 1 else ", ".join(map(str, shape)))
    desc = desc.encode()
    pad = -(10 + len(desc) + 1) % 64
    with open(out, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00")
        f.write(struct.pack("<H", len(desc) + pad + 1))
        f.write(desc + b" " * pad + b"\n")
        f.write(floats(rng, count(shape), 0.0, 1.0))


def main(argv):
    if len(argv) >= 4 and argv[0] == "weights":
        weights(argv[1], int(argv[2]), argv[3:])
    elif len(argv) == 4 and argv[0] == "npy":
        npy(argv[1], int(argv[2]), argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
