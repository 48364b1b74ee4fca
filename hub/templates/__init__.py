"""Recipe templates: ready-made recipes with named parameters that install as draft recipes.

`catalogue` reads and checks the files of recipes/templates/, `params` checks a person's values and
puts them in place of the `{"$param": NAME}` markers, `install` creates the draft recipe in a
project, and `export` turns any recipe back into a template. The format is docs/templates.md.
"""
