"""The machine task: what coding must keep (the model, its operating score) and when a
target counts as kept (vcm.tasks.targets)."""

from vcm.tasks.registry import DETECT_MIN_SCORE, TASKS, Task, load_task_model, task_entry

__all__ = ["DETECT_MIN_SCORE", "TASKS", "Task", "load_task_model", "task_entry"]
