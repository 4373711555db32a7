"""The diagram back end: architecture pictures for slides, from the annotated graph alone.

    from netgen.render import render_source
    text = render_source(graph, detail="overview", theme="light")   # DOT text

Modules, one concept each: `fold` (levels of detail, ×N runs, chains), `style` (themes,
colours by op family, labels), `layout` (wrapping long networks to fit a slide), `dot`
(deterministic DOT text), `output` (running graphviz). Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from ..graph import Graph
from .dot import to_dot
from .fold import LEVELS, build_view
from .layout import HEIGHT_MARGIN, WIDTH_MARGIN, fits, plan, text_px
from .output import FORMATS, INSTALL_HINT, DotFailed, DotMissing, dot_available, format_of, run_dot
from .pages import TooLarge, paginate
from .style import THEMES, theme
from .view import View

MAX_BOXES = 100  # more boxes than this is no slide: a compact blocks picture also boxes its SE gates


def render_source(graph: Graph, detail: str = "overview", rankdir: str = "TB", theme_name: str = "light",
                  expand: list[str] | None = None, params: bool = False) -> str:
    """The DOT text of `graph` at a level of detail (byte-identical for the same inputs)."""
    return to_dot(choose_view(graph, detail, rankdir, expand, params), theme(theme_name), rankdir)


def choose_view(graph: Graph, detail: str = "overview", rankdir: str = "TB", expand: list[str] | None = None,
                params: bool = False) -> View:
    """The view that `render_source` draws: at the blocks level, stages are framed unless
    dropping the frames (so the snake may wrap between a stage's blocks) fits a slide far better,
    and a picture estimated not to keep 12 px text on a 1920x1080 slide is drawn compact (`build_view`)."""
    view = build_view(graph, detail, expand, params)
    if detail == "blocks" and view.clusters:
        loose = build_view(graph, detail, expand, params, frame_stages=False)
        if plan(loose, rankdir).score < plan(view, rankdir).score - 0.15:
            view = loose
    for level in (1, 2):
        # too large for its smallest text on the slide: chain titles on two lines, and only if that
        # is not enough (or the picture still has more than MAX_BOXES boxes), blocks nested in
        # blocks (SE gates) as one box each
        layout = plan(view, rankdir)
        if detail != "blocks" or fits(layout.width, layout.height) and len(view.nodes) <= MAX_BOXES:
            break
        best = view
        for frame in (True, False):
            compact = build_view(graph, detail, expand, params, frame_stages=frame, compact=level)
            if plan(compact, rankdir).score < plan(best, rankdir).score - 1e-9:
                best = compact
        view = best
    return view


def slide_views(graph: Graph, detail: str = "overview", rankdir: str = "TB", expand: list[str] | None = None,
                params: bool = False, straight: bool = False) -> list[View]:
    """The pictures a slide shows: one view, or at the blocks level (and an overview with --expand),
    where one picture would not keep 12 px text on a 1920x1080 slide, several pages cut between
    items (`pages.paginate`). The full level is one view (the CLI refuses it when it cannot fit).
    `straight`: one column wherever it fits (the deck draws a block's inside so)."""
    view = choose_view(graph, detail, rankdir, expand, params)
    view.straight = straight
    if detail == "full":
        return [view]
    # the overview is one slide, unless --expand opened a part too large for it
    best: list[View] | None = None
    problem: TooLarge | None = None
    try:
        best = paginate(view, rankdir)
    except TooLarge as exc:  # too many slides this way: the variants below may need fewer
        problem = exc
    if best is None or len(best) > 1 and not all(fits(*_size(p, rankdir)) for p in best):
        # an item that alone is too large for a slide (a tall stage frame): unframed stages let the
        # pages cut between its blocks, and compact boxes narrow the blocks themselves
        for frame, level in ((False, view.compact), (False, 1), (False, 2), (True, 2), (False, 3)):
            variant = build_view(graph, detail, expand, params, frame_stages=frame, compact=level)
            variant.straight = straight
            try:
                pages = paginate(variant, rankdir)
            except TooLarge as exc:
                problem = problem or exc
                continue
            if best is None or all(fits(*_size(p, rankdir)) for p in pages):
                best = pages
                if all(fits(*_size(p, rankdir)) for p in pages):
                    break
    if best is None:
        assert problem is not None  # every variant was tried, and each raised TooLarge
        raise problem
    return best


def refusal(view: View, rankdir: str = "TB") -> str | None:
    """Why `view` is no slide (its estimated smallest text on a 1920x1080 slide is under 12 px),
    or None when it fits. Cheap: one layout plan, no graphviz."""
    layout = plan(view, rankdir)
    if fits(layout.width, layout.height):
        return None
    # the estimate may be short by the layout's margins: say how small the text could get
    px = text_px(layout.width / WIDTH_MARGIN, layout.height / HEIGHT_MARGIN)
    return (f"{view.name} at --detail {view.level} is {len(view.nodes)} boxes, about {layout.width:.0f}x"
            f"{layout.height:.0f} pt: on a 1920x1080 slide its smallest text could be as small as {px:.1f} px "
            f"(12 px is the least a slide can use)")


def _size(view: View, rankdir: str) -> tuple[float, float]:
    layout = plan(view, rankdir)
    return layout.width, layout.height


def render_pages(graph: Graph, detail: str = "overview", rankdir: str = "TB", theme_name: str = "light",
                 expand: list[str] | None = None, params: bool = False) -> list[str]:
    """The DOT text of each slide of `graph` at a level of detail (see `slide_views`)."""
    t = theme(theme_name)
    return [to_dot(view, t, rankdir) for view in slide_views(graph, detail, rankdir, expand, params)]


def render(graph: Graph, fmt: str = "svg", **options) -> bytes:
    """The picture in `fmt` (svg, pdf, png or gv); raises DotMissing without graphviz."""
    return run_dot(render_source(graph, **options), fmt)


def build_diagram(graph: Graph, out: Path) -> dict[Path, str | bytes]:
    """`netgen build` extra: OUT/<name>.svg (overview), or OUT/<name>.gv where `dot` is missing."""
    import sys

    source = render_source(graph)
    try:
        return {out / f"{graph.name}.svg": run_dot(source, "svg")}
    except DotMissing:
        print(f"netgen: warning: {INSTALL_HINT}", file=sys.stderr)
        return {out / f"{graph.name}.gv": source}


__all__ = ["render_source", "choose_view", "slide_views", "render_pages", "paginate", "TooLarge", "refusal",
           "DotFailed", "render", "build_diagram", "build_view", "to_dot", "View", "LEVELS", "FORMATS", "THEMES",
           "DotMissing", "INSTALL_HINT", "dot_available", "format_of", "run_dot"]
