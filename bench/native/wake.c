// What handing work to a thread pool costs: the calling thread busy-waits `gap` µs (its own
// work), then wakes a worker (futex) and waits for its answer; the round trip is averaged over
// 2,000 hand-offs. The worker spins `spin` iterations before it sleeps (XNNPACK's pthreadpool
// also spins, then sleeps), so after a long gap it is asleep and must be woken.
//   wake <gap µs> <spin iterations>   (bench/native/run.sh)
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static atomic_int req = 0, ack = 0;
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static void fwait(atomic_int*a,int v){syscall(SYS_futex,a,FUTEX_WAIT_PRIVATE,v,0,0,0);}
static void fwake(atomic_int*a){syscall(SYS_futex,a,FUTEX_WAKE_PRIVATE,1,0,0,0);}
static int spin_iters;
static void* worker(void*_){int seen=0;for(;;){int v;int i=0;while((v=atomic_load(&req))==seen && i<spin_iters)i++;while((v=atomic_load(&req))==seen)fwait(&req,seen);seen=v;if(v<0)return 0;atomic_store(&ack,v);fwake(&ack);}}
int main(int argc,char**argv){int gap=atoi(argv[1]);spin_iters=atoi(argv[2]);int reps=2000;pthread_t t;pthread_create(&t,0,worker,0);double tot=0;
for(int r=1;r<=reps;r++){double g=now()+gap;while(now()<g);double t0=now();atomic_store(&req,r);fwake(&req);int a;while((a=atomic_load(&ack))!=r)fwait(&ack,a);tot+=now()-t0;}
atomic_store(&req,-1);fwake(&req);pthread_join(t,0);printf("gap %d us, spin %d: round trip %.1f us\n",gap,spin_iters,tot/reps);return 0;}
