"""Teaching: the app, the session player and its chapters, the 3RS narration, the trainee mode and its futures.

Also the course figure, the static session page, and the teaching commands (``demo``, ``export-session``, ``app``).
"""
