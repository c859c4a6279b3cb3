/** The median: the middle value, or the mean of the middle two (of 2 runs, their mean, not the slower one). */
export const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b),
    mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
