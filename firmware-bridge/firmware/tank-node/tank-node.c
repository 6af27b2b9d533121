/*
 * tend tank-node firmware for the ATmega328P (Arduino Uno / Nano, 16 MHz).
 *
 * Samples one tank sensor, median-filters the samples, and sends one $TEND sentence per
 * interval on the UART (docs/architecture.md, "Serial: $TEND sentences"):
 *
 *   $TEND,<device>,<seq>,<metric>=<value>*<CS>\r\n      CS = XOR of the bytes between $ and *
 *
 * Sensors (chosen at build time, see the Makefile):
 *   SENSOR_PRESSURE    0.5–4.5 V ratiometric pressure transducer on A0 (PC0), AVcc reference.
 *                      Sends pressure_kpa=<kPa at the transducer, 2 decimals>.
 *   SENSOR_ULTRASONIC  JSN-SR04T (waterproof ultrasonic): TRIG on D9 (PB1), ECHO on D8 (PB0).
 *                      Sends distance_mm=<sensor face to water surface>.
 *
 * A sensor fault is sent as a metric, never as a made-up level:
 *   fault=1  no signal: transducer below 0.4 V (wire open, unplugged) or no ultrasonic echo
 *   fault=2  out of range: transducer above 4.6 V (shorted to 5 V) or echo outside 250–4500 mm
 * tend then shows the tank as stale rather than as a wrong number.
 *
 * UART: 115200 8N1 with U2X (double speed): UBRR = 16 gives 117 647 baud, +2.1 %, within what
 * USB-serial chips accept (the Arduino core makes the same choice at 16 MHz).
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>
#include <stdint.h>
#include <util/delay.h>

#ifndef DEVICE_ID
#define DEVICE_ID "tank-node"
#endif
#ifndef INTERVAL_MS
#define INTERVAL_MS 10000UL
#endif
#ifndef BAUD
#define BAUD 115200UL
#endif
#if !defined(SENSOR_PRESSURE) && !defined(SENSOR_ULTRASONIC)
#define SENSOR_PRESSURE 1
#endif
/* transducer full scale: kPa at 4.5 V (0 kPa at 0.5 V); 50 kPa is about 5.1 m of water */
#ifndef PRESSURE_FS_KPA
#define PRESSURE_FS_KPA 50L
#endif

#define SAMPLES 9 /* odd, so the median is one sample */

/* ---- time: Timer0 CTC at 1 kHz ------------------------------------------------------------ */

static volatile uint32_t ms_ticks;

ISR(TIMER0_COMPA_vect) { ms_ticks++; }

static uint32_t millis(void) {
  uint32_t t;
  uint8_t sreg = SREG;
  cli();
  t = ms_ticks;
  SREG = sreg;
  return t;
}

static void timer0_init(void) {
  TCCR0A = _BV(WGM01);             /* CTC */
  OCR0A = (F_CPU / 64 / 1000) - 1; /* 249 at 16 MHz */
  TIMSK0 = _BV(OCIE0A);
  TCCR0B = _BV(CS01) | _BV(CS00); /* clk/64 */
}

/* ---- UART ---------------------------------------------------------------------------------- */

static void uart_init(void) {
  UCSR0A = _BV(U2X0);
  UBRR0 = (uint16_t)((F_CPU + 4UL * BAUD) / (8UL * BAUD) - 1); /* rounded */
  UCSR0B = _BV(TXEN0);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00); /* 8N1 */
}

static uint8_t cs; /* running checksum of the sentence body */

static void uart_put(char c) {
  while (!(UCSR0A & _BV(UDRE0))) {
  }
  UDR0 = (uint8_t)c;
}

static void body_put(char c) {
  cs ^= (uint8_t)c;
  uart_put(c);
}

static void body_str(const char *s) {
  while (*s) body_put(*s++);
}

static void body_u32(uint32_t v) {
  char buf[11];
  uint8_t n = 0;
  do {
    buf[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) body_put(buf[--n]);
}

__attribute__((unused)) static void body_i32(int32_t v) {
  if (v < 0) {
    body_put('-');
    body_u32((uint32_t)(-v));
  } else {
    body_u32((uint32_t)v);
  }
}

/* value in hundredths, written with two decimals: 1234 -> 12.34, -5 -> -0.05 */
__attribute__((unused)) static void body_centi(int32_t v) {
  if (v < 0) {
    body_put('-');
    v = -v;
  }
  body_u32((uint32_t)v / 100);
  body_put('.');
  body_put((char)('0' + (v / 10) % 10));
  body_put((char)('0' + v % 10));
}

static const char hex[] = "0123456789ABCDEF";

static uint32_t seq;

static void sentence_begin(void) {
  cs = 0;
  uart_put('$');
  body_str("TEND," DEVICE_ID ",");
  body_u32(seq++);
  body_put(',');
}

static void sentence_end(void) {
  uart_put('*');
  uart_put(hex[cs >> 4]);
  uart_put(hex[cs & 15]);
  uart_put('\r');
  uart_put('\n');
}

static void send_fault(uint8_t code) {
  sentence_begin();
  body_str("fault=");
  body_u32(code);
  sentence_end();
}

/* ---- median --------------------------------------------------------------------------------- */

static int32_t median(int32_t *v, uint8_t n) {
  for (uint8_t i = 1; i < n; i++) { /* insertion sort: n is tiny */
    int32_t x = v[i];
    int8_t j = (int8_t)i - 1;
    while (j >= 0 && v[j] > x) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = x;
  }
  return v[n / 2];
}

static void wait_ms(uint16_t ms) {
  while (ms--) {
    _delay_ms(1);
    wdt_reset();
  }
}

#if defined(SENSOR_PRESSURE)
/* ---- pressure transducer on A0 ------------------------------------------------------------- */

static void sensor_init(void) {
  ADMUX = _BV(REFS0);                                /* AVcc reference, channel 0 */
  ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0); /* 16 MHz / 128 = 125 kHz */
  DIDR0 = _BV(ADC0D);                                /* no digital input buffer on A0 */
}

static int32_t adc_read_mv(void) {
  ADCSRA |= _BV(ADSC);
  while (ADCSRA & _BV(ADSC)) {
  }
  /* ADC = Vin × 1024 / Vref (datasheet 24.7); Vref = AVcc = 5 V */
  return ((int32_t)ADC * 5000L + 512) / 1024;
}

static void sample_and_send(void) {
  int32_t mv[SAMPLES];
  for (uint8_t i = 0; i < SAMPLES; i++) {
    mv[i] = adc_read_mv();
    wait_ms(5);
  }
  int32_t m = median(mv, SAMPLES);
  if (m < 400) {
    send_fault(1); /* a powered transducer never goes below 0.5 V: wire open or unplugged */
    return;
  }
  if (m > 4600) {
    send_fault(2); /* above 4.5 V: shorted to supply or over-pressure */
    return;
  }
  /* 0.5 V = 0 kPa, 4.5 V = full scale; in hundredths of a kPa */
  int32_t centi = ((m - 500) * PRESSURE_FS_KPA * 100L + 2000) / 4000L;
  sentence_begin();
  body_str("pressure_kpa=");
  body_centi(centi);
  sentence_end();
}

#elif defined(SENSOR_ULTRASONIC)
/* ---- JSN-SR04T: TRIG D9 (PB1), ECHO D8 (PB0) ----------------------------------------------- */

#define ECHO_TIMEOUT_TICKS 60000U /* 30 ms at 0.5 µs a tick: about 5 m out and back */
#define MIN_MM 250                /* blind zone of the JSN-SR04T */
#define MAX_MM 4500

static void sensor_init(void) {
  DDRB |= _BV(PB1);   /* TRIG out */
  DDRB &= ~_BV(PB0);  /* ECHO in */
  PORTB &= ~_BV(PB1);
  TCCR1A = 0;
  TCCR1B = _BV(CS11); /* Timer1 at clk/8 = 2 MHz, 0.5 µs a tick */
}

/* one ping: distance in mm, -1 without echo */
static int32_t ping_mm(void) {
  PORTB |= _BV(PB1);
  _delay_us(20); /* the JSN-SR04T wants at least 10 µs */
  PORTB &= ~_BV(PB1);
  uint16_t start = TCNT1;
  while (!(PINB & _BV(PB0))) {
    if ((uint16_t)(TCNT1 - start) > ECHO_TIMEOUT_TICKS) return -1;
  }
  uint16_t rise = TCNT1;
  while (PINB & _BV(PB0)) {
    if ((uint16_t)(TCNT1 - rise) > ECHO_TIMEOUT_TICKS) return -1;
  }
  uint16_t width = (uint16_t)(TCNT1 - rise);
  /* sound at 20 °C: 343 m/s; out and back: mm = µs × 0.1715 = ticks × 343 / 4000 */
  return ((int32_t)width * 343L + 2000) / 4000L;
}

static void sample_and_send(void) {
  int32_t mm[SAMPLES];
  uint8_t n = 0, far = 0;
  for (uint8_t i = 0; i < SAMPLES; i++) {
    int32_t d = ping_mm();
    if (d < 0) {
      /* no echo */
    } else if (d < MIN_MM || d > MAX_MM) {
      far++;
    } else {
      mm[n++] = d;
    }
    wait_ms(60); /* let the last echo die out before the next ping */
  }
  if (n > SAMPLES / 2) {
    sentence_begin();
    body_str("distance_mm=");
    body_i32(median(mm, n));
    sentence_end();
  } else {
    send_fault(far > (SAMPLES - n - far) ? 2 : 1);
  }
}
#endif

/* a watchdog reset leaves the watchdog on at its shortest period: switch it off first thing */
void early_wdt_off(void) __attribute__((naked, used, section(".init3")));
void early_wdt_off(void) {
  MCUSR = 0;
  wdt_disable();
}

int main(void) {
  uart_init();
  timer0_init();
  sensor_init();
  sei();
  wdt_enable(WDTO_2S); /* a hung sensor loop resets the board rather than going quiet for good */
  set_sleep_mode(SLEEP_MODE_IDLE);

  uint32_t last = millis();
  sample_and_send(); /* one reading at power-up, so the tank shows at once */
  for (;;) {
    wdt_reset();
    if (millis() - last >= INTERVAL_MS) {
      last += INTERVAL_MS;
      sample_and_send();
    }
    sleep_mode(); /* the 1 kHz tick wakes us */
  }
}
