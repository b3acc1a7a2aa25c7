# Group (a): no redirection to files. Applets, pipes, variables, control flow.
echo "basics: start"
x=3
while [ "$x" -gt 0 ]; do echo "count $x"; x=$((x - 1)); done
for w in one two three; do echo "word $w"; done
case "abc" in a*) echo "case: a*";; *) echo "case: other";; esac
echo "alpha beta gamma" | wc -w
printf 'c\nb\na\nb\n' | sort
printf 'c\nb\na\nb\n' | sort -u | wc -l
echo "hello world" | sed 's/world/ostrog/'
echo "one two three" | grep -o two
printf 'x1\ny2\nx3\n' | grep x | wc -l
echo "$(echo nested) substitution"
f() { echo "function $1"; return 3; }
f arg
echo "status $?"
false || echo "false failed"
true && echo "true succeeded"
(echo subshell; exit 4)
echo "subshell status $?"
echo "basics: done"
