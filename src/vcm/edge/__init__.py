"""The camera agent: `vcm edge`. Cuts a stream into GOP-long segments, codes each for
machines (and its restoration layer), spools them, and uploads them until acknowledged."""

from vcm.edge.agent import AgentSummary, EdgeConfig, run_agent
from vcm.edge.spool import Spool

__all__ = ["AgentSummary", "EdgeConfig", "Spool", "run_agent"]
