"""`mclip classify`, `encode` and `search`: motions and texts into the latent space."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import MclipError
from .app import app, echo_json, load_engine, progress, check_motion_args, WEIGHTS_HELP, DEVICE_HELP


@app.command("classify")
def classify_cmd(
    motions: List[str] = typer.Argument(..., help="Motion file(s) (.npz/.bvh, or .npy joints: "
                                                  "fitted by IK); the model loads once for all."),
    labels: str = typer.Option("babel60", "--labels", "-l",
                               help="babel60, babel120, a text file (one label per line), "
                                    "or a comma-separated list \"walk,run,jump\"."),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, max=1000, help="How many labels to show."),
    per_window: bool = typer.Option(False, "--per-window", help="Also classify each 2 s window "
                                                                "(60 frames, 30 apart)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table (an object "
                                                       "for one motion, a list for several)."),
) -> None:
    """Zero-shot action recognition: which label text is the motion's latent closest to?

    Probabilities are softmax(T * cosine) over the labels, for the motion's latent (the
    mean direction of its 2 s windows), so they rank the labels as the cosine does. T is
    calibrated on held-out clips and stored in the weights (CLIP's 100 if it has none).

    Examples:

      mclip classify clip.npz --labels babel60

      mclip classify clip.npz --labels "walk,run,jump,sit down" --top-k 3 --json

      mclip classify out/*.npz --labels babel60 --top-k 1 --json > report.json
    """
    from ..engine import load_labels

    names = load_labels(labels)
    check_motion_args(*motions)
    engine = load_engine(weights, device)
    results = [engine.classify(m, names, top_k=top_k, per_window=per_window) for m in motions]
    if as_json:
        docs = [{"motion": m, "labels": labels, **r.to_dict()} for m, r in zip(motions, results)]
        echo_json(docs[0] if len(docs) == 1 else docs)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for motion, result in zip(motions, results):
        table = Table(title=f"{motion}  ({len(names)} labels)")
        table.add_column("#", justify="right")
        table.add_column("label")
        table.add_column("probability", justify="right")
        table.add_column("cosine", justify="right")
        for i, s in enumerate(result.top, 1):
            table.add_row(str(i), s.label, f"{s.probability:.3f}", f"{s.cosine:+.3f}")
        console.print(table)
        if per_window:
            wt = Table(title="per window")
            wt.add_column("time (s)")
            wt.add_column("top labels")
            for w in result.windows:
                wt.add_row(f"{w.start_s:5.1f}-{w.end_s:5.1f}",
                           ", ".join(f"{s.label} {s.probability:.2f}" for s in w.top))
            console.print(wt)


@app.command("encode")
def encode_cmd(
    motions: Optional[List[str]] = typer.Argument(None, help="Motion files (.npz/.npy/.bvh)."),
    text: List[str] = typer.Option([], "--text", "-t", help="Text to embed (repeatable)."),
    out: Path = typer.Option(..., "-o", "--out", help="Output .npy: (N, D) float32 unit latents, "
                                                      "motions first, then texts, in order."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Latent vectors of motions and/or texts, in the backbone's space (cosine = dot product).

    A motion longer than 2 s is the mean direction of its windows' latents.

    Examples:

      mclip encode walk.npz jump.npz -o latents.npy

      mclip encode --text "walk" --text "run" -o texts.npy
    """
    from ..engine import check_prompts
    from ..atomic import atomic_path

    import numpy as np

    items = list(motions or [])
    if not items and not text:
        raise MclipError("encode: give motion files and/or --text")
    if out.suffix.lower() != ".npy":
        raise MclipError(f"{out}: latents are written as .npy")
    for m in items:
        if not Path(m).is_file():
            raise MclipError(f"{m}: no such file")
    texts = check_prompts(text, "--text") if text else []
    engine = load_engine(weights, device)
    parts = []
    if items:
        parts.append(engine.encode(items))
    if texts:
        parts.append(engine.embed_texts(texts).cpu().numpy())
    Z = np.concatenate(parts).astype(np.float32)
    with atomic_path(out) as tmp:
        np.save(tmp, Z)
    if as_json:
        echo_json({"output": str(out), "shape": list(Z.shape), "items": items + texts})
    else:
        typer.echo(f"wrote {out} ({Z.shape[0]} x {Z.shape[1]})")


@app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help="What to look for, in words."),
    library: Path = typer.Option(..., "--library", "-L", help="Folder of motion files (searched recursively)."),
    top_k: int = typer.Option(10, "--top-k", "-k", min=1, max=1000, help="How many results."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                             help="Where latents are cached (default $MCLIP_CACHE or ~/.cache/mclip)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Rank a folder of motions by how well they match a text (cosine of latents).

    Each file's latent is cached (keyed by path, modification time, size and the
    checkpoint's hash), so searching the same library again only encodes new files.

    Example:

      mclip search "someone waving" --library mocap/ --top-k 5
    """
    from ..engine import check_prompts

    check_prompts([query], "query")
    if not library.is_dir():
        raise MclipError(f"{library}: not a folder (--library takes a folder of motion files)")
    engine = load_engine(weights, device)
    with progress(0, "encoding library", enabled=not as_json) as update:
        result = engine.search(query, library, top_k=top_k, cache_dir=cache_dir,
                               on_progress=lambda n, tot: update(n, tot))
    if as_json:
        echo_json({"query": query, "library": str(library), **result.to_dict()})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"\"{query}\" in {library}")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("file")
    for i, (p, s) in enumerate(result.hits, 1):
        table.add_row(str(i), f"{s:+.3f}", p)
    console = Console()
    console.print(table)
    for p, e in result.skipped:
        console.print(f"[yellow]skipped[/] {e}")
