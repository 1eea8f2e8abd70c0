"""YAML → validated, immutable model. No database, no web."""
from .loader import check_blueprint, load_blueprint, load_cached
from .model import Blueprint, Entity, Field, Label, Pipeline, Role, Stage, View
from .problems import BlueprintError, Mark, Problem

__all__ = ["Blueprint", "BlueprintError", "Entity", "Field", "Label", "Mark", "Pipeline", "Problem",
           "Role", "Stage", "View", "check_blueprint", "load_blueprint", "load_cached"]
