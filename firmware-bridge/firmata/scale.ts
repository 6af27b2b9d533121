// Firmata pin values to engineering units (pure).
//
// Analog pins: StandardFirmata reports the 10-bit ADC, 0…1023. tend turns that into volts first
// (counts × vref / 1023, the Arduino documentation's convention, so 1023 reads as vref), and
// `scale: [in_lo, in_hi, out_lo, out_hi]` maps volts linearly to the sensor's unit. A 0.5–4.5 V
// pressure transducer rated 0–50 kPa is `scale: [0.5, 4.5, 0, 50]`, straight from its datasheet.
// Without a scale an analog pin reads in volts.
//
// Digital pins: the logic level 0/1; a scale maps it too, so a normally-closed door switch
// (reads 1 when shut) becomes door_open with `scale: [0, 1, 1, 0]`.
//
// No clamping: a transducer with a broken wire reads near 0 V, which maps below out_lo; the
// sensor's `range` rejects it as out_of_range instead of showing a made-up level.
export const ADC_MAX = 1023;

export function countsToVolts(counts: number, vref = 5): number {
  return (counts * vref) / ADC_MAX;
}

export function applyScale(x: number, scale?: readonly [number, number, number, number]): number {
  if (!scale) return x;
  const [inLo, inHi, outLo, outHi] = scale;
  return outLo + ((x - inLo) * (outHi - outLo)) / (inHi - inLo);
}

export function isAnalogPin(pin: string | number): pin is string {
  return typeof pin === 'string' && pin.startsWith('A');
}
