# Group (d), first part: files left for the next boot (on the disk, reboot.sh reads them
# after the machine restarts; on the RAM file system they go with the machine).
echo "keep: start"
mkdir -p sub/dir
printf 'one\ntwo\nthree\n' > sub/list
echo "kept line" > note
seq 1 5000 > sub/dir/numbers
echo "appended" >> note
ls . sub sub/dir
echo "keep: done"
