"""Pure computation: no printing, no typer, no rich. Everything here returns data."""
