// One thread writes 1 GiB into a fallocated file; prints wall and CPU time (docs/benchmarks.md).
// mode 0: MADV_POPULATE_WRITE then memcpy; 1: pwrite; 2: memcpy into the plain mapping.
// Build: gcc -O2 -o write_paths write_paths.c; run: ./write_paths MODE CHUNK_BYTES
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#define SZ (1UL<<30)
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec/1e6+r.ru_stime.tv_sec+r.ru_stime.tv_usec/1e6;}
int main(int argc,char**argv){
  int mode=atoi(argv[1]); size_t chunk=atol(argv[2]); char path[256]; sprintf(path,"./write_paths.%d",getpid());
  int fd=open(path,O_RDWR|O_CREAT|O_TRUNC,0644); ftruncate(fd,SZ); posix_fallocate(fd,0,SZ);
  char*buf=malloc(chunk); memset(buf,7,chunk);
  double t0=now(),c0=cpu();
  if(mode==0||mode==2){ char*m=mmap(0,SZ,PROT_READ|PROT_WRITE,MAP_SHARED,fd,0);
    if(mode==0) madvise(m,SZ,23);
    for(size_t p=0;p+chunk<=SZ;p+=chunk) memcpy(m+p,buf,chunk);
    munmap(m,SZ);
  } else { for(size_t p=0;p+chunk<=SZ;p+=chunk) pwrite(fd,buf,chunk,p); }
  printf("mode %d chunk %zu: wall %.3f s cpu %.3f s\n",mode,chunk,now()-t0,cpu()-c0);
  close(fd); unlink(path); return 0;}
