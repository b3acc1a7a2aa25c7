# Group (c): more of a file system at once (written for the disk, run on both): many files,
# a larger file, mv across folders, rm -r of a tree, and counts of what is left.
echo "disk: start"
mkdir -p many in/deep/er out
i=0
while [ $i -lt 60 ]; do
    echo "file $i" > many/f$i
    i=$((i + 1))
done
ls many | wc -l
cat many/f0 many/f37 many/f59
cat many/* | wc -l
grep -l 'file 4' many/* | wc -l
seq 1 40000 > big
wc -l big
wc -c big
sed -n '12345p;39999p' big
tail -n 2 big
sort -rn big | head -n 3
cp big in/deep/er/copy
cmp big in/deep/er/copy && echo "the copy is the same"
mv in/deep/er/copy out/moved
ls in/deep/er | wc -l
wc -c out/moved
mv many/f1 many/f2 in/deep
ls in/deep
mv many out/
ls out
ls out/many | wc -l
rm -r out/many
ls out
rm -r in
test -e in || echo "in is gone"
: > big
wc -c big
rm big out/moved
ls
echo "disk: done"
