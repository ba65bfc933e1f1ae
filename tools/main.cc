#include <cstdio>
int main() { std::puts("tuttle"); return 0; }
