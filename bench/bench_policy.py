"""Content policy benchmark: prompt checks and face checks.

    .venv/bin/python bench/bench_policy.py [--rounds 20] [--face-rounds 3]

Prompt check latency (ms, p50/p99/max) over:
  eval-set     every labelled prompt in tests/policy/data/*.jsonl, ``--rounds`` times each
  long-2k      2,000-character prompts (benign prose with a few obfuscated terms mixed in)
  long-32k     32,000-character prompts, same mix (the API's maximum prompt length)
Targets: p99 under 5 ms in every row (lexicons). With the policy-ml extra installed the same
rows run again with the semantic layer (torch on one thread; target p99 under 50 ms), after the
peak RSS that torch and the model add (import, load, a first prompt) is printed; the "benign"
row holds only the labelled benign prompts, which pass the lexicons, so each one pays for the
model. CPU columns are the calling thread's CPU time, which a busy shared machine does not
inflate. Face check time (s, p50/max) per 1280x720 frame over the labelled images from
tests/policy/images.py (target: p99 <= 300 ms on one core), and the detection figures:
labelled faces caught, non-faces refused, hard faces (LFW crops, camera.png) caught.
One thread, after a warm-up; the policy objects are built once, as the server does.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reelforge.policy import FacePolicy, PromptPolicy  # noqa: E402
from reelforge.policy.evaluate import load_labelled  # noqa: E402
from reelforge.policy.semantic import semantic_available  # noqa: E402

DATA = REPO / "tests" / "policy" / "data"
FILLER = (
    "A slow dolly shot drifts across a misty harbour at dawn while gulls wheel above the "
    "fishing boats, ropes creak, and a lighthouse beam fades into the pale morning sky. "
)
SPICE = ("sp1d3r-m4n", "t a y l o r", "n.a.k.e.d", "a prince in a castle", "Mickey", "the rock")


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(
    check: Callable[[str], object], inputs: Sequence[str], rounds: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and this thread's CPU seconds per call (CPU time ignores a busy machine)."""
    for text in inputs[:20]:
        check(text)  # warm-up
    wall, cpu = [], []
    for _ in range(rounds):
        for text in inputs:
            start, start_cpu = time.perf_counter(), time.thread_time()
            check(text)
            wall.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
    return wall, cpu


def long_prompts(length: int, count: int, rng: random.Random) -> list[str]:
    prompts = []
    for _ in range(count):
        words = (FILLER * (length // len(FILLER) + 1)).split(" ")
        for _ in range(3):
            words[rng.randrange(len(words))] = rng.choice(SPICE)
        prompts.append(" ".join(words)[:length])
    return prompts


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build_policy(semantic: str) -> PromptPolicy:
    """The policy, built and warmed as the server does; prints the time and the RSS added."""
    rss_before, start = peak_rss_mib(), time.perf_counter()
    if semantic != "off":
        import torch

        torch.set_num_threads(1)
    policy = PromptPolicy.from_settings(semantic=semantic)
    policy.warm()
    policy.check("a calm lake at dawn")
    print(
        f"prompt policy ({', '.join(policy.layers)}) built and warmed in "
        f"{(time.perf_counter() - start) * 1000:.0f} ms; "
        f"peak RSS {peak_rss_mib():.0f} MiB (+{peak_rss_mib() - rss_before:.0f} MiB)"
    )
    return policy


def bench_prompts(rounds: int, semantic: str) -> None:
    policy = build_policy(semantic)
    rng = random.Random(42)
    eval_texts = [
        case.text for path in sorted(DATA.glob("*.jsonl")) for case in load_labelled(path)
    ]
    benign_texts = [
        case.text
        for path in sorted(DATA.glob("*.jsonl"))
        for case in load_labelled(path)
        if case.expected is None
    ]
    rows = {
        "eval-set": (eval_texts, rounds),
        "benign": (benign_texts, rounds),
        "long-2k": (long_prompts(2_000, 50, rng), rounds),
        "long-32k": (long_prompts(32_000, 20, rng), max(1, rounds // 2)),
    }
    columns = ("p50 ms", "p99 ms", "max ms", "cpu p50", "cpu p99")
    print(f"{'prompts':<10}{'n':>7}" + "".join(f"{c:>9}" for c in columns))
    for name, (texts, repeat) in rows.items():
        wall, cpu = timed(policy.check, texts, repeat)
        ms, cpu_ms = [s * 1000 for s in wall], [s * 1000 for s in cpu]
        print(
            f"{name:<10}{len(ms):>7}{statistics.median(ms):>9.3f}{percentile(ms, 0.99):>9.3f}"
            f"{max(ms):>9.3f}{statistics.median(cpu_ms):>9.3f}{percentile(cpu_ms, 0.99):>9.3f}"
        )


def bench_faces(rounds: int) -> None:
    from tests.policy.images import hard_faces, labelled_images

    faces = FacePolicy()
    images = labelled_images()
    seconds: list[float] = []
    cpu: list[float] = []
    decisions = {}
    for _ in range(rounds):
        for image in images:
            start, start_cpu = time.perf_counter(), time.process_time()
            decisions[image.name] = faces.check(image.frame)
            if image.frame.shape[:2] == (720, 1280):
                seconds.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
    print(
        f"face check per 1280x720 frame: p50 {statistics.median(seconds):.3f} s, "
        f"max {max(seconds):.3f} s; process CPU p50 {statistics.median(cpu):.3f} s, "
        f"max {max(cpu):.3f} s (n={len(seconds)})"
    )
    with_face = [i for i in images if i.has_face]
    without = [i for i in images if not i.has_face]
    caught = sum(not decisions[i.name].allowed for i in with_face)
    false_hits = [i.name for i in without if not decisions[i.name].allowed]
    print(
        f"labelled faces refused: {caught}/{len(with_face)}; "
        f"non-faces refused: {len(false_hits)}/{len(without)} {false_hits}"
    )
    hard = hard_faces()
    missed = [i.name for i in hard if faces.check(i.frame).allowed]
    print(f"hard faces refused: {len(hard) - len(missed)}/{len(hard)}; missed: {missed}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Content policy benchmark")
    parser.add_argument("--rounds", type=int, default=20, help="passes over each prompt set")
    parser.add_argument("--face-rounds", type=int, default=3, help="passes over the images")
    parser.add_argument(
        "--semantic-rounds", type=int, default=2, help="passes with the semantic layer"
    )
    args = parser.parse_args()
    bench_prompts(args.rounds, "off")
    if semantic_available() and args.semantic_rounds > 0:
        bench_prompts(args.semantic_rounds, "on")
    if args.face_rounds > 0:
        bench_faces(args.face_rounds)


if __name__ == "__main__":
    main()
