// Can this machine run two threads of arithmetic at once? Each thread runs 8 independent
// chains of AVX2 fused multiply-adds (no memory traffic); prints the total GFLOP/s for the
// given thread count. Two threads on two real cores give about twice one thread's rate.
//   fma <threads> <iterations>      (bench/native/run.sh)
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <immintrin.h>
static long iters = 200000000;
static void* work(void* a){ __m256 x0=_mm256_set1_ps(1.0f),x1=x0,x2=x0,x3=x0,x4=x0,x5=x0,x6=x0,x7=x0, m=_mm256_set1_ps(0.999999f), c=_mm256_set1_ps(1e-7f);
 for(long i=0;i<iters;i++){x0=_mm256_fmadd_ps(x0,m,c);x1=_mm256_fmadd_ps(x1,m,c);x2=_mm256_fmadd_ps(x2,m,c);x3=_mm256_fmadd_ps(x3,m,c);x4=_mm256_fmadd_ps(x4,m,c);x5=_mm256_fmadd_ps(x5,m,c);x6=_mm256_fmadd_ps(x6,m,c);x7=_mm256_fmadd_ps(x7,m,c);}
 float r[8]; _mm256_storeu_ps(r,_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0,x1),_mm256_add_ps(x2,x3)),_mm256_add_ps(_mm256_add_ps(x4,x5),_mm256_add_ps(x6,x7)))); *(float*)a=r[0]; return 0;}
int main(int argc,char**argv){int n=atoi(argv[1]); iters=atol(argv[2]); pthread_t t[8]; float out[8]; struct timespec s,e; clock_gettime(CLOCK_MONOTONIC,&s);
 for(int i=0;i<n;i++) pthread_create(&t[i],0,work,&out[i]); for(int i=0;i<n;i++) pthread_join(t[i],0);
 clock_gettime(CLOCK_MONOTONIC,&e); double sec=(e.tv_sec-s.tv_sec)+(e.tv_nsec-s.tv_nsec)/1e9; printf("threads %d: %.3f s, %.1f GFLOP/s total\n",n,sec, n*(double)iters*8*8*2/sec/1e9); return 0;}
