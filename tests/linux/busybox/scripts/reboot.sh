# Group (d), second part: run after a reboot on the same disk, in keep.sh's folder (only
# by the disk variant; the runner leaves it out otherwise): what the first boot left.
echo "reboot: start"
ls . sub sub/dir
cat note
cat sub/list
wc -l sub/dir/numbers
tail -n 1 sub/dir/numbers
sort -r sub/list
echo "changed after the reboot" >> note
cat note
rm sub/list
ls sub
echo "reboot: done"
