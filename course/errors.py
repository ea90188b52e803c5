"""The one exception type the course raises for problems a user can fix."""


class CourseError(Exception):
    """A problem with the user's input or set-up, with a message that says what to do.

    The command line prints the message without a traceback; code and tests can
    catch it like any other exception.
    """
