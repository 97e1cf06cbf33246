"""The cloud side of the system: the catalog (what is stored), the storage tiers (where),
the system settings of a data folder, and checks of uploaded segments."""
