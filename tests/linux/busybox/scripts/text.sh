# Group (a): text applets on files made with tee and cp, pipes between them.
echo "text: start"
printf '10 banana\n2 apple\n33 cherry\n2 apple\n7 date\n' | tee list | wc -l
sort -n list
sort -r list | head -n 2
sort list | uniq -c
sort list | uniq | tail -n 1
cut -d ' ' -f 2 list | tr a-z A-Z
grep -v apple list
grep -i CHERRY list
grep -e banana -e date list | wc -l
sed -e 's/a/4/g' -e '/cherry/d' list
sed -n '/apple/=' list
cp list copy
mkdir sub
mv copy sub/renamed
ls sub
cat list sub/renamed | wc -l
grep -c apple list sub/renamed
mv sub moved
ls
rm -r moved list
ls | wc -l
echo "text: done"
