/*
 * fft.h — FFTW plans for the analysis code, made safely from any thread.
 *
 * FFTW's planner is not thread-safe: creating or destroying a plan while another thread does the same
 * corrupts it. Every CDSP module makes and frees its plans through these calls, which hold one
 * process-wide mutex around the planner (FFTW_ESTIMATE: no measuring, so plan creation is quick and
 * the result deterministic). Executing a plan (fftwf_execute_dft_r2c with the plan's own or any
 * equally aligned buffers) needs no lock.
 * Buffers: allocate with cdsp_fft_alloc (SIMD-aligned, fftwf_malloc) and free with cdsp_fft_free.
 * Thread: control (they allocate and lock). Never call them from the audio thread.
 *
 * Example: n = 2048 real samples in, n/2+1 complex bins out:
 *     float *in = cdsp_fft_alloc(n); fftwf_complex *out = cdsp_fft_alloc(2 * (n / 2 + 1));
 *     fftwf_plan p = cdsp_fft_plan_r2c(n, in, out);
 *     ... fill in; fftwf_execute(p); ...
 *     cdsp_fft_destroy(p); cdsp_fft_free(in); cdsp_fft_free(out);
 */
#ifndef CDSP_FFT_H
#define CDSP_FFT_H

#include <stddef.h>
#include <fftw3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `count` floats, aligned for FFTW's SIMD code, zeroed. NULL on failure. */
void *cdsp_fft_alloc(size_t count);
void cdsp_fft_free(void *p);

/* Real-to-complex forward transform of `n` samples. NULL on failure. */
fftwf_plan cdsp_fft_plan_r2c(int n, float *in, fftwf_complex *out);
/* Complex-to-real inverse transform (unnormalised: the result is n times the signal). NULL on failure. */
fftwf_plan cdsp_fft_plan_c2r(int n, fftwf_complex *in, float *out);
/* NULL-safe. */
void cdsp_fft_destroy(fftwf_plan p);

#ifdef __cplusplus
}
#endif
#endif
