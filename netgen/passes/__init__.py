"""Graph-to-graph rewrites that run after the lowering and before a back end: each takes the
annotated graph and returns a new one (the input is left as it is), so that the code, the
summary and the diagram of a rewritten build all read the same graph."""

from .inference import InferencePlan, inference_graph, rewritten

__all__ = ["InferencePlan", "inference_graph", "rewritten"]
