"""Accuracy vs. edge latency (the Pareto front) of ``kind: points`` sweeps (named override sets: decoders, recipes,
seeds) and ``kind: grid`` ones (alpha x input size, :func:`grid_points`): every point trained, converted and scored
by the experiment runner, then every int8 model timed end to end at 1 and 2 threads in ONE round-robin pass. Only
alpha = 1.0 has ImageNet weights offline: the other alphas train from scratch, marked so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from munet.atomic import write_json
from munet.benchmarks import records
from munet.benchmarks.analysis import load, speedup
from munet.benchmarks.experiment import Point, Row, Setup, has_run, overrides_key, run_point, time_rows, untrained_copy
from munet.benchmarks.render import Column, dec, fixed, render, timing_note
from munet.data import sample_folder
from munet.device import provenance
from munet.errors import InputError

PRETRAINED_ALPHA = 1.0
ALONE_TIMING = "each point in a fresh process right after its training"  # sweeps from before the interleaved pass
DECODER_KEYS = ("preset", "decoder_upsample", "decoder_conv", "decoder_filters", "decoder_head")


def pareto_front(points: Sequence[dict[str, Any]], x: str = "latency_ms", y: str = "dice_int8") -> list[int]:
    """Indices of the points no other point beats on both ``x`` (lower is better) and ``y`` (higher).

    Points without ``x`` (not timed yet) are on no front.
    """
    timed = [(i, p) for i, p in enumerate(points) if p.get(x) is not None]
    return [
        i
        for i, p in timed
        if not any(q[x] <= p[x] and q[y] >= p[y] and (q[x] < p[x] or q[y] > p[y]) for j, q in timed if j != i)
    ]


def grid_points(alphas: Sequence[float], sizes: Sequence[tuple[int, int]]) -> list[Point]:
    """alpha x size points (:func:`run_pareto` starts alpha = 1.0 from the ImageNet weights when given)."""
    return [Point(f"a{a:g}_{h}x{w}", {"alpha": a, "size": [h, w]}) for a in alphas for h, w in sizes]


def pareto_point(row: Row, threads: int) -> dict[str, Any]:
    """The front's view of an experiment row: the run's effective config.yaml (presets expanded, sizes parsed),
    else the row's overrides."""
    from munet.train.config import config_from_run

    values = dict(row.overrides)
    if (Path(row.run_dir or "-") / "config.yaml").is_file():
        values = {**values, **config_from_run(row.run_dir).to_dict()}
    pretrained = str(values.get("encoder_weights", "none")).lower() not in ("none", "")
    scores, split = row.scores or {}, row.split or {}
    point = {
        "name": row.name,
        "alpha": values.get("alpha"),
        "size": values.get("size"),
        "decoder": {k: values[k] for k in DECODER_KEYS if values.get(k) is not None},
        "pretrained": pretrained,
        "init": "ImageNet" if pretrained else "scratch",
        "epochs": row.epochs,
        "params": row.params,
        "gmacs": (row.macs or 0) / 1e9,
        "size_mb": (row.models or {})["int8"]["size_bytes"] / 1e6,
        "dice_float": scores["float32"]["per-image"]["dice"],
        "dice_int8": scores["int8"]["per-image"]["dice"],
        "agreement_dice": (row.agreement or {})["int8"]["dice"],
        "seconds": row.train_s,
        "overrides": overrides_key(row.overrides),
        "dice_lesion_int8": split.get("int8", {}).get("dice_lesion_images"),
        "fp_share_int8": split.get("int8", {}).get("false_positive_share"),
    }
    return point | _latency_fields(row.latency or {}, threads)


def run_pareto(
    data: str | os.PathLike[str],
    val_data: str | os.PathLike[str] | None,
    points: Sequence[Point],
    epochs: int = 10,
    limit: int | None = None,
    weights: str | os.PathLike[str] | None = None,
    threads: int = 2,
    runs: int = 30,
    out: str | os.PathLike[str] = "benchmarks/results/pareto",
    batch: int = 8,
    echo: Callable[[str], None] = print,
    command: str | None = None,
    runs_dir: str | os.PathLike[str] = "runs/pareto",
    reuse: bool = False,
) -> dict[str, Any]:
    """Train, convert and score every point, then time all int8 models in one pass; write ``pareto.{json,md,png}``
    after every point (``reuse``: the one resume rule; committed points whose run folder is gone are kept).
    ``epochs``/``batch`` apply where a point does not set them; ``weights`` starts the alpha=1.0 points; ``limit``:
    a seeded sample of the training pairs; ``val_data`` defaults to ``data``'s ``val`` sibling."""
    from munet.data import load_pairs

    out, runs_dir = Path(out), Path(runs_dir)
    prov = provenance(command)
    train_dir = Path(data)
    if val_data is None and train_dir.name == "train" and (train_dir.parent / "val").is_dir():
        val_data = train_dir.parent / "val"
    if val_data is None:
        raise InputError(f"{data}: give val_data: DIR (the Pareto points are scored on one fixed set)")
    val_dir = Path(val_data)
    train_dir = sample_folder(train_dir, limit, runs_dir / "data" / "train_subset")
    samples = load_pairs(val_dir)
    setup = Setup(train_dir, val_dir, runs_dir, threads=threads, reuse=reuse)

    def start(p: Point) -> str:  # ImageNet for alpha 1.0 when --weights is given, else from scratch
        return str(weights) if weights and p.overrides.get("alpha") == PRETRAINED_ALPHA else "none"

    todo = [
        Point(p.name, {"epochs": epochs, "batch": batch, "encoder_weights": start(p), **p.overrides}) for p in points
    ]
    rows: list[Row] = []
    result: dict[str, Any] = {
        **prov,
        "train_data": train_dir.as_posix(),
        "val_data": val_dir.as_posix(),
        "limit": limit,
        "epochs": epochs,
        "threads": threads,
        "runs": runs,
        "points": [],
        "plot": "pareto.png",
    }
    kept = committed_points(out / "pareto.json") if reuse else {}
    entries: list[dict[str, Any]] = []  # a row trained/scored here, or a committed point kept as it is
    for point in todo:
        old = kept.get(point.name)
        if old is not None and not has_run(runs_dir / point.name):
            if old.get("overrides") != overrides_key(point.overrides):
                raise InputError(
                    f"{out / 'pareto.json'}: point {point.name!r} was made with other settings "
                    f"({old.get('overrides')} vs {overrides_key(point.overrides)}); rename the point or drop --reuse"
                )
            echo(f"[{point.name}] kept from {out / 'pareto.json'} (its run folder is not here)")
            entries.append({"kept": old})
            result["points"].append(old)
            continue
        rows.append(run_point(point, setup, samples, echo))
        entries.append({"row": rows[-1]})
        result["points"].append(pt := pareto_point(rows[-1], threads))
        echo(f"[pareto] {point.name}: Dice float32 {pt['dice_float']:.3f}, int8 {pt['dice_int8']:.3f}")
        _write(result, out)
    copies: dict[str, Row] = {}  # one untrained model per architecture among the kept points
    for e in entries:
        if "kept" in e and "overrides" in e["kept"]:
            e["copy"] = untrained_copy(e["kept"]["name"], e["kept"]["overrides"], setup, copies, ("int8",), echo)
    timed = rows + [e["copy"] for e in entries if e.get("copy") is not None]
    timing = time_rows(timed, [("int8", t) for t in sorted({1, 2, threads})], samples[0].image, runs, end_to_end=True)
    if timing is not None:
        result["points"] = [
            pareto_point(e["row"], threads) if "row" in e else _retimed(e["kept"], e.get("copy"), threads)
            for e in entries
        ]
        result["latency_method"] = "interleaved: every int8 model at 1/2 threads round-robin, end to end, one pass"
        if len(rows) < len(entries):
            result["latency_method"] += (
                " (points kept from an earlier run: timed on an untrained int8 model of the same architecture, as "
                "benchmarks/results/retime-check shows LiteRT's time does not depend on the weights)"
            )
        result["load"], result["busy"] = timing["machine"], timing["busy"]
        echo(
            f"[pareto] {result['latency_method']}" + (f"; BUSY: {'; '.join(timing['busy'])}" if timing["busy"] else "")
        )
        _write(result, out)
    return result


def committed_points(path: Path) -> dict[str, dict[str, Any]]:
    """The points of a committed ``pareto.json`` by name, each with its origin (``kept_from``): ``--reuse`` keeps
    those whose run folder is gone (a fresh checkout) instead of training them again."""
    doc = load(path, missing_ok=True) or {}
    origin = {"date": doc.get("date"), "cpu": (doc.get("machine") or {}).get("cpu")}
    return {p["name"]: {"kept_from": origin} | p for p in doc.get("points", [])}


def _kept_note(points: Sequence[dict[str, Any]]) -> str:
    """Which points an ``--reuse`` run kept from an earlier committed run (their date and CPU)."""
    kept = [
        f"{p['name']} ({(p['kept_from'].get('date') or '?')[:10]}, {p['kept_from'].get('cpu') or '?'})"
        for p in points
        if p.get("kept_from")
    ]
    if not kept:
        return ""
    how = "; int8 ms: an untrained copy of the same architecture" if any(p.get("timed_on") for p in points) else ""
    return f"\nKept from an earlier run (`--reuse`, trained and scored then{how}): {', '.join(kept)}.\n"


def _latency_fields(latency: dict[str, Any], threads: int) -> dict[str, Any]:
    fields = {f"latency_ms_{t}t": latency.get(f"int8@{t}", {}).get("median") for t in sorted({1, 2, threads})}
    fields["latency_ms"] = latency.get(f"int8@{threads}", {}).get("median")
    fields["latency_p90_ms"] = latency.get(f"int8@{threads}", {}).get("p90")
    return fields


def _retimed(point: dict[str, Any], copy: Row | None, threads: int) -> dict[str, Any]:
    """A kept point with the times of this pass (its untrained copy's), or none (a table's times come from one
    pass): earlier-pass fields such as ``latency_alone_ms`` are dropped."""
    kept = {k: v for k, v in point.items() if not k.startswith("latency_")}
    if copy is None:
        return kept | _latency_fields({}, threads)
    return kept | _latency_fields(copy.latency or {}, threads) | {"timed_on": copy.timed_on}


def _write(result: dict[str, Any], out: Path) -> None:
    """Mark the front and (re)write ``pareto.json``/``.md``/``.png``: a cut-short sweep keeps its points."""
    front = pareto_front(result["points"])
    for i, p in enumerate(result["points"]):
        p["on_front"] = i in front
    write_json(out / "pareto.json", result)
    plot_pareto(result, out / "pareto.png")
    records.write_markdown(out / "pareto.md", pareto_markdown(result))


def plot_pareto(result: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Dice (int8) vs. int8 latency; filled markers: ImageNet encoder, hollow: trained from scratch."""
    plt = records.pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    timed = [p for p in result["points"] if p.get("latency_ms") is not None]
    alphas = sorted({p["alpha"] for p in timed}, key=str)
    colors = {a: plt.cm.viridis(i / max(len(alphas) - 1, 1)) for i, a in enumerate(alphas)}
    for p in timed:
        xy, c = (p["latency_ms"], p["dice_int8"]), colors[p["alpha"]]
        ax.scatter(*xy, s=60, edgecolors=[c], facecolors=[c] if p["pretrained"] else "none", linewidths=1.5)
        label = p.get("name") or f"α={p['alpha']:g} {p['size'][0]}x{p['size'][1]}"
        ax.annotate(label, xy, fontsize=7, xytext=(4, 3), textcoords="offset points")
    front = sorted((p for p in result["points"] if p.get("on_front")), key=lambda p: p["latency_ms"])
    if len(front) > 1:
        ax.plot([p["latency_ms"] for p in front], [p["dice_int8"] for p in front], "--", color="gray", lw=1)
    ax.set_xlabel(f"int8 latency, ms (end to end, {result['threads']} threads)")
    ax.set_ylabel("Dice (int8, per-image mean)")
    ax.set_title("MU-Net: accuracy vs. edge latency (hollow = trained from scratch)")
    ax.grid(alpha=0.3)
    return records.save_figure(fig, path)


def _decoder_label(point: dict[str, Any]) -> str:
    d = point.get("decoder", {})
    widths = "/".join(map(str, d.get("decoder_filters", [])))
    if d.get("decoder_upsample", "transpose") == "transpose":
        return "transposed conv " + widths
    return f"{d.get('decoder_upsample')} + {d.get('decoder_conv')} {widths}, head {d.get('decoder_head')}"


def _varies(points: Sequence[dict[str, Any]], key: str) -> bool:
    return len({json.dumps(p.get(key), sort_keys=True) for p in points}) > 1


#: The Dice columns of every sweep: float, int8 and the int8 masks against the float ones.
DICE = (("Dice float", "dice_float"), ("Dice int8", "dice_int8"), ("int8 vs float", "agreement_dice"))


def point_columns(result: dict[str, Any]) -> list[Column]:
    """The one table of a points or grid sweep (``pareto.md`` and the study README blocks): alpha and the decoder
    where the points differ in them, the speed-up over the paper decoder where one is among others."""
    points = result["points"]
    paper = [Column("× paper decoder (1 / 2 thr.)", lambda p: speedup(p, points), lambda s: f"{s[0]:.2f} / {s[1]:.2f}")]
    return [
        Column("point", "name"),
        *([Column("α", "alpha", "{:g}".format)] if _varies(points, "alpha") else []),
        Column("input", "size", lambda s: "×".join(map(str, s))),
        *([Column("decoder", _decoder_label)] if _varies(points, "decoder") else []),
        Column("encoder init", "init"),
        Column("epochs", "epochs"),
        Column("train min", lambda p: p["seconds"] / 60 if p.get("seconds") else None, dec(1)),  # 0: a reused run
        *([Column("params (M)", lambda p: p["params"] / 1e6, dec(2))] if all(p.get("params") for p in points) else []),
        Column("GMACs", "gmacs", dec(3)),
        Column("int8 MB", "size_mb", dec(2)),
        *(Column(h, k, fixed) for h, k in DICE),
        *(Column(f"int8 ms {t} thr.", f"latency_ms_{t}t", dec(2)) for t in sorted({1, 2, result.get("threads", 2)})),
        *(paper if any(speedup(p, points) for p in points) else []),
        Column("on the front", lambda p: "yes" if p.get("on_front") else ""),
    ]


def pareto_markdown(result: dict[str, Any]) -> str:
    """:func:`run_pareto`'s points (:func:`point_columns`), provenance and plot."""
    return (
        f"# Pareto: Dice vs. int8 latency (train `{result['train_data']}`, val `{result['val_data']}`)\n\n"
        f"int8 ms: end-to-end median (front: {result.get('threads', 2)} threads), "
        f"{result.get('latency_method', ALONE_TIMING)}{timing_note(result)}.\n\n"
        f"{records.provenance_markdown(result)}\n{render(result['points'], point_columns(result))}"
        + f"\n![Pareto plot]({result['plot']})\n\nOnly alpha=1.0 has offline ImageNet weights; 'scratch' points "
        "start from random weights and are handicapped by it.\n" + _kept_note(result["points"])
    )
