"""Drop torch and the NVIDIA/Triton libraries PyPI's CUDA torch pulls in from a lock file:
`make install` installs the torch build that suits the machine (CPU-only or CUDA) itself.

Usage: python .ci/strip_lock.py IN OUT
"""

import re
import sys

DROP = re.compile(r"^(torch|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)==", re.IGNORECASE)


def main(src: str, dst: str) -> None:
    out, skipping = [], False
    with open(src, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        if line and not line[0].isspace():
            skipping = bool(DROP.match(line))
        if not skipping:
            out.append(line)
    header = [
        "# Exact versions of every dependency of mcrage[dev,auth] except torch (make install",
        "# picks the CPU-only or CUDA build per machine). Refresh: make lock (uses uv).",
    ]
    with open(dst, "w", encoding="utf-8") as fh:
        fh.write("\n".join(header + out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
