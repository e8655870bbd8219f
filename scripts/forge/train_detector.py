"""Train the learned forge detector's head and write the weights the package ships
(server/pattern_memory/assist/forge_head.npz). Deterministic: the same corpus and the same
model give the same weights.

    python scripts/forge/train_detector.py [--out PATH]

Reads only the corpus's "train" split (data/forge/answers.jsonl); the held-out split and
the hand-written answers are for scripts/forge/eval_detector.py. The threshold is chosen on
out-of-fold scores of the training answers (5 folds by topic), the highest F1 whose
precision is at least 0.95.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, CachedEmbedder, load, sentence_labels

from pattern_memory.assist.learned import FIX, Head, answer_features

OUT = ROOT / "server" / "pattern_memory" / "assist" / "forge_head.npz"
HIDDEN = 32
EPOCHS = 400
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-3
MIN_PRECISION = 0.95
SEED = 11


def fit(x: np.ndarray, fix: np.ndarray, problem: np.ndarray) -> tuple[np.ndarray, ...]:
    """A one-hidden-layer network, class-balanced binary cross-entropy on both outputs,
    full-batch Adam from a seeded start (deterministic)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    y = np.stack([fix, problem], axis=1)
    positives = np.maximum(1.0, y.sum(axis=0))
    weight = np.where(y > 0, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))
    rng = np.random.default_rng(SEED)
    params = [
        rng.normal(0, np.sqrt(2 / z.shape[1]), (z.shape[1], HIDDEN)),
        np.zeros(HIDDEN),
        rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, 2)),
        np.zeros(2),
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    for step in range(1, EPOCHS + 1):
        w1, b1, w2, b2 = params
        pre = z @ w1 + b1
        hidden = np.maximum(0.0, pre)
        p = 1.0 / (1.0 + np.exp(-np.clip(hidden @ w2 + b2, -30, 30)))
        g_out = weight * (p - y) / len(y)
        g_w2 = hidden.T @ g_out
        g_hidden = (g_out @ w2.T) * (pre > 0)
        grads = [z.T @ g_hidden, g_hidden.sum(axis=0), g_w2, g_out.sum(axis=0)]
        for i, raw in enumerate(grads):
            g = raw + WEIGHT_DECAY * params[i] if i in (0, 2) else raw
            moments[i] = 0.9 * moments[i] + 0.1 * g
            squares[i] = 0.999 * squares[i] + 0.001 * g * g
            m = moments[i] / (1 - 0.9**step)
            v = squares[i] / (1 - 0.999**step)
            params[i] = params[i] - LEARNING_RATE * m / (np.sqrt(v) + 1e-8)
    return (mean, scale, *params)


def head_of(parts: tuple[np.ndarray, ...], threshold: float) -> Head:
    mean, scale, w1, b1, w2, b2 = (np.asarray(p, np.float32) for p in parts)
    return Head(mean, scale, w1, b1, w2, b2, threshold)


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for threshold in np.linspace(0.05, 0.95, 91):
        predicted = scores >= threshold
        tp = float((predicted & (labels == 1)).sum())
        precision = tp / max(1.0, float(predicted.sum()))
        recall = tp / max(1.0, float((labels == 1).sum()))
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        if precision >= MIN_PRECISION and f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    answers = [a for a in load() if a["split"] == "train"]
    embedder = CachedEmbedder()
    rows, fix_labels, problem_labels, owner = [], [], [], []
    unlabelled = 0
    for number, answer in enumerate(answers):
        features = answer_features(embedder, answer["text"], None)
        texts = [features.items[i].text for i in features.prose]
        fix, problem = sentence_labels(answer, texts)
        if answer["label"] and not any(fix):
            unlabelled += 1
            continue  # its fix sentence cannot be told: leave it out rather than mislabel
        rows.append(features.matrix)
        fix_labels.extend(fix)
        problem_labels.extend(problem)
        owner.extend([number] * len(texts))
    embedder.save()
    x = np.vstack(rows).astype(np.float64)
    y_fix = np.array(fix_labels, np.float64)
    y_problem = np.array(problem_labels, np.float64)
    owners = np.array(owner)
    topic = np.array([int(answers[o]["id"].split("-")[0]) for o in owners])
    # Out-of-fold answer scores (folds by topic), for the threshold.
    answer_scores: dict[int, float] = {}
    for fold in range(5):
        held = topic % 5 == fold
        head = head_of(fit(x[~held], y_fix[~held], y_problem[~held]), 0.5)
        p = head.probabilities(x[held].astype(np.float32))[:, FIX]
        for o, score in zip(owners[held], p, strict=True):
            answer_scores[int(o)] = max(answer_scores.get(int(o), 0.0), float(score))
    keys = sorted(answer_scores)
    threshold = choose_threshold(
        np.array([answer_scores[k] for k in keys]),
        np.array([answers[k]["label"] for k in keys]),
    )
    head_of(fit(x, y_fix, y_problem), threshold).save(str(args.out))
    print(
        f"trained on {len(keys)} answers ({int(y_fix.sum())} fix sentences, "
        f"{int(y_problem.sum())} problem sentences of {len(y_fix)}); {unlabelled} left out; "
        f"threshold {threshold:.2f} -> {args.out} ({args.out.stat().st_size} bytes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
