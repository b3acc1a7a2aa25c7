# Group (a): files on the RAM file system without redirection: touch, cp, tee, mkdir, mv,
# rm, ls, cat, grep, sed and wc on files given as arguments.
echo "files: start"
mkdir -p a/b/c
ls
ls a a/b
printf 'pear\napple\nplum\napple\n' | tee fruit | wc -l
ls
cat fruit
sort fruit
sort -u fruit | wc -l
wc -l fruit
grep -n apple fruit
grep -c p fruit
sed -n '2,3p' fruit
sed 's/p/P/g' fruit
cp fruit a/b/copy
cat a/b/copy | wc -c
mv a/b/copy a/moved
ls a a/b
touch empty
wc -c empty
rm empty
ls
rm -r a
ls
test -e fruit && echo "fruit exists"
test -d a || echo "a is gone"
echo "files: done"
