// What reading one header extension needs to know of the header around it.
export interface ExtContext {
  cryptMethod: number;
  clusterSize: number;
  autoclear: bigint;
}
