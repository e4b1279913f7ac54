# Classic debug lines "HH:MM:SS.uuuuuu [ID] message" (a date may precede the time; ids such as
# [0], [n1], [S2]), and raftviz's own event lines, which add " | ev=KIND key=value ..." fields
# (docs/FORMAT.md). Lines with fields state their facts; the rules below read free text.
name        classic
description HH:MM:SS.uuuuuu [ID] message (and raftviz event lines)
line        builtin:classic
# A test harness's own tag where a server's id would be ("[TEST] Disconnect 2"): not a server.
harness     node ^(?:TEST|TESTER|TESTING|HARNESS|tester|test|harness)$
fact reconnect  : (?i)reconnect
fact disconnect : (?i)disconnect
fact restart    : (?i)restart
fact crash      : (?i)crash
fact crash      : (?i)killed
fact partition  : (?i)partition
fact state state=leader    : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|elected|won\s+(?:the\s+)?election\W+becom\w*)\W+(?:a\s+|the\s+|new\s+)*leader
fact state state=candidate : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to)\W+(?:a\s+|the\s+)*candidate
fact state state=follower  : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|step\w*\s+down\s+to)\W+(?:a\s+|the\s+)*follower
# The node's own term: "currentTerm=3", "term=3" (a message dump's "Term:3" is not it).
fact -          : \bcurrentTerm\s*=\s*(?P<term>\d+)
fact -          : \bterm\s*=\s*(?P<term>\d+)
