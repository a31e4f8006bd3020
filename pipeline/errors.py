"""The one exception type the command line turns into a clear, single-line message."""


class PipelineError(Exception):
    """A problem with the user's input (a study, instrument or data file) that they can fix.

    The message names the file (and, where it applies, the row, column or field) and says
    what to do. The command line prints it on one line and exits non-zero, without a traceback.
    """
