"""The machine task: what coding must keep (the model, its operating score) and when a
target counts as kept (vcm.tasks.targets)."""

from vcm.tasks.registry import (
    CLASS_SETS,
    DEFAULT_CLASSES,
    DETECT_MIN_SCORE,
    TASKS,
    Task,
    class_names,
    load_task_model,
    task_entry,
)

__all__ = ["CLASS_SETS", "DEFAULT_CLASSES", "DETECT_MIN_SCORE", "TASKS", "Task", "class_names",
           "load_task_model", "task_entry"]
