"""Reports: the main job, its figures with one shared style, and the generated docs."""
