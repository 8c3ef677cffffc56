#!/usr/bin/env python3
"""Typo'd Cranfield queries from two published typo generators, for bench/search/typos.sh.

Usage: typos.py CRANFIELD_DIR OUT_DIR

Writes OUT_DIR/<generator>-seed<N>.txt: the 225 queries of cran.qry in file order, one a line,
with one typo in every word of 5+ letters, at any position including the first letter:

- typo:   the `typo` package (StrErrer): keyboard-neighbour substitution, transposition of
          adjacent letters, omission, doubled letter or keyboard-neighbour insertion, one of them
          picked at random per word.
- nlpaug: nlpaug's character augmenters: KeyboardAug (keyboard-neighbour substitution) and
          RandomCharAug swap (adjacent transposition), delete and insert, one picked per word.

Needs `pip install typo==0.1.7 nlpaug==1.1.11` (typos.sh installs them). Deterministic for a
given seed and package version.
"""

import random
import re
import sys
from pathlib import Path

SEEDS = (1, 2, 3)
WORD = re.compile(r"[A-Za-z]+")


def queries(cranfield: Path) -> list[str]:
    """The `.W` text of each record of cran.qry, lines joined by spaces (as search_bench reads it)."""
    out: list[str] = []
    field = None
    for line in (cranfield / "cran.qry").read_text().splitlines():
        if line.startswith(".I"):
            out.append("")
            field = None
        elif len(line) == 2 and line.startswith("."):
            field = line[1]
        elif field == "W" and out:
            out[-1] += line + "\n"
    return [q.replace("\n", " ") for q in out]


def typo_package(word: str, rng: random.Random) -> str:
    import typo

    op = rng.choice(["nearby_char", "char_swap", "missing_char", "repeated_char", "extra_char"])
    # StrErrer reseeds the global `random` with the seed it is given.
    return str(getattr(typo.StrErrer(word, seed=rng.getrandbits(32)), op)())


_NLPAUG = {}


def nlpaug_word(word: str, rng: random.Random) -> str:
    import numpy as np
    import nlpaug.augmenter.char as nac

    if not _NLPAUG:
        one = dict(aug_char_min=1, aug_char_max=1, aug_char_p=1.0, aug_word_p=1.0, min_char=1)
        _NLPAUG["keyboard"] = nac.KeyboardAug(
            include_special_char=False, include_numeric=False, include_upper_case=False, **one
        )
        for action in ("swap", "delete", "insert"):
            _NLPAUG[action] = nac.RandomCharAug(
                action=action,
                swap_mode="adjacent",
                spec_char="",
                include_upper_case=False,
                include_numeric=False,
                **one,
            )
    op = rng.choice(["keyboard", "swap", "delete", "insert"])
    seed = rng.getrandbits(32)
    random.seed(seed)
    np.random.seed(seed)
    out = _NLPAUG[op].augment(word)
    out = out[0] if isinstance(out, list) else out
    return out.replace(" ", "")


GENERATORS = {"typo": typo_package, "nlpaug": nlpaug_word}


def typoed(query: str, make, rng: random.Random) -> str:
    return WORD.sub(lambda m: make(m.group(0), rng) if len(m.group(0)) >= 5 else m.group(0), query)


def main() -> None:
    cranfield, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    qs = queries(cranfield)
    for name, make in GENERATORS.items():
        for seed in SEEDS:
            rng = random.Random(f"{name}-{seed}")
            lines = [typoed(q, make, rng) for q in qs]
            (out / f"{name}-seed{seed}.txt").write_text("\n".join(lines) + "\n")
            print(f"{name}-seed{seed}.txt: {lines[0]}")


if __name__ == "__main__":
    main()
