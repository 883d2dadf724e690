/* RBJ audio-EQ-cookbook biquads (Robert Bristow-Johnson). */
#include "cdsp/biquad.h"

#include "dsp_math.h"

cdsp_biquad_coefs cdsp_biquad_design(cdsp_biquad_type type, double fs, double f0, double q, double gain_db)
{
    double A = pow(10.0, gain_db / 40.0);
    double w0 = 2.0 * M_PI * f0 / fs;
    double cw = cos(w0), sw = sin(w0);
    double alpha = sw / (2.0 * q);
    double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0;
    switch (type) {
    case CDSP_BIQUAD_LOWPASS:
        b0 = (1 - cw) / 2; b1 = 1 - cw; b2 = (1 - cw) / 2;
        a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
        break;
    case CDSP_BIQUAD_HIGHPASS:
        b0 = (1 + cw) / 2; b1 = -(1 + cw); b2 = (1 + cw) / 2;
        a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
        break;
    case CDSP_BIQUAD_BANDPASS: /* constant 0 dB peak gain */
        b0 = alpha; b1 = 0; b2 = -alpha;
        a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
        break;
    case CDSP_BIQUAD_NOTCH:
        b0 = 1; b1 = -2 * cw; b2 = 1;
        a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
        break;
    case CDSP_BIQUAD_ALLPASS:
        b0 = 1 - alpha; b1 = -2 * cw; b2 = 1 + alpha;
        a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
        break;
    case CDSP_BIQUAD_PEAK:
        b0 = 1 + alpha * A; b1 = -2 * cw; b2 = 1 - alpha * A;
        a0 = 1 + alpha / A; a1 = -2 * cw; a2 = 1 - alpha / A;
        break;
    case CDSP_BIQUAD_LOWSHELF: {
        double sa = 2 * sqrt(A) * alpha;
        b0 = A * ((A + 1) - (A - 1) * cw + sa);
        b1 = 2 * A * ((A - 1) - (A + 1) * cw);
        b2 = A * ((A + 1) - (A - 1) * cw - sa);
        a0 = (A + 1) + (A - 1) * cw + sa;
        a1 = -2 * ((A - 1) + (A + 1) * cw);
        a2 = (A + 1) + (A - 1) * cw - sa;
        break;
    }
    case CDSP_BIQUAD_HIGHSHELF: {
        double sa = 2 * sqrt(A) * alpha;
        b0 = A * ((A + 1) + (A - 1) * cw + sa);
        b1 = -2 * A * ((A - 1) + (A + 1) * cw);
        b2 = A * ((A + 1) + (A - 1) * cw - sa);
        a0 = (A + 1) - (A - 1) * cw + sa;
        a1 = 2 * ((A - 1) - (A + 1) * cw);
        a2 = (A + 1) - (A - 1) * cw - sa;
        break;
    }
    }
    cdsp_biquad_coefs c = {(float)(b0 / a0), (float)(b1 / a0), (float)(b2 / a0), (float)(a1 / a0), (float)(a2 / a0)};
    return c;
}

void cdsp_biquad_process(const cdsp_biquad_coefs *c, cdsp_biquad_state *s, float *buf, uint32_t frames)
{
    for (uint32_t i = 0; i < frames; i++) buf[i] = cdsp_biquad_tick(c, s, buf[i]);
}

double cdsp_biquad_magnitude(const cdsp_biquad_coefs *c, double fs, double f)
{
    double w = 2.0 * M_PI * f / fs;
    /* H(e^jw) = (b0 + b1 e^-jw + b2 e^-2jw) / (1 + a1 e^-jw + a2 e^-2jw) */
    double nr = c->b0 + c->b1 * cos(w) + c->b2 * cos(2 * w);
    double ni = -(c->b1 * sin(w) + c->b2 * sin(2 * w));
    double dr = 1.0 + c->a1 * cos(w) + c->a2 * cos(2 * w);
    double di = -(c->a1 * sin(w) + c->a2 * sin(2 * w));
    return sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
}
