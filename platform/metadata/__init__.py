"""YAML → validated, immutable model. No database, no web."""
from atrium.metadata.loader import check_blueprint, load_blueprint, load_cached
from atrium.metadata.model import Blueprint, Entity, Field, Label, Pipeline, Role, Stage, View
from atrium.metadata.problems import BlueprintError, Mark, Problem

__all__ = ["Blueprint", "BlueprintError", "Entity", "Field", "Label", "Mark", "Pipeline", "Problem",
           "Role", "Stage", "View", "check_blueprint", "load_blueprint", "load_cached"]
