"""The Mesa view of the model: the same rules run as Mesa agents, one week per step (Mesa's model + agents layout)."""
