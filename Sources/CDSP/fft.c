/* fft.c — FFTW planning behind one mutex (see fft.h). */
#include "cdsp/fft.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

void *cdsp_fft_alloc(size_t count) {
    void *p = fftwf_malloc(count * sizeof(float));
    if (p) memset(p, 0, count * sizeof(float));
    return p;
}

void cdsp_fft_free(void *p) {
    if (p) fftwf_free(p);
}

fftwf_plan cdsp_fft_plan_r2c(int n, float *in, fftwf_complex *out) {
    pthread_mutex_lock(&planner_lock);
    fftwf_plan p = fftwf_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    return p;
}

fftwf_plan cdsp_fft_plan_c2r(int n, fftwf_complex *in, float *out) {
    pthread_mutex_lock(&planner_lock);
    fftwf_plan p = fftwf_plan_dft_c2r_1d(n, in, out, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    return p;
}

void cdsp_fft_destroy(fftwf_plan p) {
    if (!p) return;
    pthread_mutex_lock(&planner_lock);
    fftwf_destroy_plan(p);
    pthread_mutex_unlock(&planner_lock);
}
