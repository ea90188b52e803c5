"""The course's grader: exercise metadata, the stub generator, the pytest plugin and the helper command."""
