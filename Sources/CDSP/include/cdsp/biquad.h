/*
 * biquad.h — second-order IIR sections, coefficients from Robert Bristow-Johnson's
 * "Cookbook formulae for audio EQ biquad filter coefficients". Transposed direct form II.
 *
 * Frequencies in Hz, gain in dB, Q dimensionless. Coefficient functions are pure (thread: any);
 * processing keeps per-channel state (thread: audio, real-time safe). Stable for 0 < f < fs/2.
 */
#ifndef CDSP_BIQUAD_H
#define CDSP_BIQUAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_biquad_coefs {
    float b0, b1, b2, a1, a2; /* normalised: a0 == 1 */
} cdsp_biquad_coefs;

typedef struct cdsp_biquad_state {
    float z1, z2;
} cdsp_biquad_state;

typedef enum cdsp_biquad_type {
    CDSP_BIQUAD_LOWPASS = 0,
    CDSP_BIQUAD_HIGHPASS,
    CDSP_BIQUAD_BANDPASS,
    CDSP_BIQUAD_NOTCH,
    CDSP_BIQUAD_ALLPASS,
    CDSP_BIQUAD_PEAK,
    CDSP_BIQUAD_LOWSHELF,
    CDSP_BIQUAD_HIGHSHELF
} cdsp_biquad_type;

/* Thread: any. `gain_db` is used by PEAK and the shelves only. */
cdsp_biquad_coefs cdsp_biquad_design(cdsp_biquad_type type, double sample_rate, double freq, double q,
                                     double gain_db);

/* One sample through one section. Thread: audio. */
static inline float cdsp_biquad_tick(const cdsp_biquad_coefs *c, cdsp_biquad_state *s, float x)
{
    float y = c->b0 * x + s->z1;
    s->z1 = c->b1 * x - c->a1 * y + s->z2;
    s->z2 = c->b2 * x - c->a2 * y;
    return y;
}

/* Mono block in place. Thread: audio. */
void cdsp_biquad_process(const cdsp_biquad_coefs *c, cdsp_biquad_state *s, float *buf, uint32_t frames);

/* Magnitude response |H(f)| of a section, for tests and plots. Thread: any. */
double cdsp_biquad_magnitude(const cdsp_biquad_coefs *c, double sample_rate, double freq);

#ifdef __cplusplus
}
#endif
#endif
