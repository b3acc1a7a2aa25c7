# Group (b): redirections to files (>, >>, <, 2>).
echo "redirect: start"
echo first > out
echo second >> out
cat out
wc -l < out
sort < out > sorted
cat sorted
ls nothing 2> err
wc -l err
while read line; do echo "read: $line"; done < out
echo "redirect: done"
