"""The formula limits: the bounds that keep every formula small and every evaluation short."""

MAX_LENGTH = 1000  # characters of formula text
MAX_DEPTH = 64  # nesting of the syntax tree; a sum of 60 terms is still accepted
MAX_NODES = 400  # syntax-tree nodes; evaluation time is linear in them
MAX_STRING = 100  # characters of one string literal (grades, segments, tag words)
MAX_NAME = 64  # characters of one name; longer names are not looked up for suggestions

# Every literal, input value and intermediate result lies within ±MAX_MAGNITUDE. A KPI never needs more,
# and the bound keeps every product of two values finite, so no operation can reach inf or nan.
MAX_MAGNITUDE = 1e15
MAX_EXPONENT10 = 15.0  # log10(MAX_MAGNITUDE), used to refuse a power before computing it
ROUND_DIGITS = 15  # ROUND(x, n) clamps n to ±ROUND_DIGITS (more digits change nothing)
LIMIT_TEXT = "1e15"  # MAX_MAGNITUDE as the messages print it
