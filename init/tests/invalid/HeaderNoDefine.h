#define OTHER "x"
