// Times memset of N GiB of fresh anonymous memory, 1 GiB at a time (docs/benchmarks.md:
// first touch of guest memory). Build: gcc -O2 -o first_touch first_touch.c; run: ./first_touch 18
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int c,char**v){size_t g=atol(v[1]);size_t sz=g<<30;char*m=mmap(0,sz,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
for(size_t i=0;i<g;i++){double t=now();memset(m+(i<<30),1,1UL<<30);printf("%.2f ",now()-t);fflush(stdout);}printf("\n");return 0;}
