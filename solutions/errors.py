"""The course's one error type, :class:`course.errors.CourseError`, where the parts import it from."""

from course.errors import CourseError

__all__ = ["CourseError"]
